"""Closed, full and narrow standard streams: one error line and the documented exit status, never a traceback."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ce_cli.render.glyphs import ASCII_SPELLING
from tests.conftest import assert_close

CE_LOSS = f"{sys.executable} -m ce_cli"


def shell(command: str, **env: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["bash", "-c", command], capture_output=True, env={**os.environ, **env}, check=False)


@pytest.mark.parametrize("command", ["compute -q", "compare -f csv", "explain -f json"])
def test_a_closed_stdin_troubles_only_a_source_that_reads_it(command: str) -> None:
    name, *options = command.split()
    fine = shell(f"{CE_LOSS} {name} -l 1,2,3 -t 0 {' '.join(options)} <&-")
    assert (fine.returncode, fine.stderr) == (0, b"")
    assert b"2.40760596444438" in fine.stdout
    reading = shell(f"{CE_LOSS} compute -l - -t 0 -q <&-")
    assert (reading.returncode, reading.stdout) == (1, b"")
    assert reading.stderr == b"ce-loss: error: logits from stdin: no standard input to read\n"


@pytest.mark.parametrize(
    ("redirect", "environment", "command", "message"),
    [
        (">&-", {}, "compute -l 1,2,3 -t 0 -q", "stdout is closed: there is nowhere to write the results"),
        (
            "> /dev/full",
            {},
            "compute -l 1,2,3 -t 0",
            "the results cannot be written to stdout: No space left on device",
        ),
    ],
)
def test_a_stdout_that_cannot_take_the_results_is_one_error_line(
    redirect: str, environment: dict[str, str], command: str, message: str
) -> None:
    if redirect == "> /dev/full" and not Path("/dev/full").exists():
        pytest.skip("this system has no /dev/full")
    result = shell(f"{CE_LOSS} {command} {redirect}", **environment)
    assert result.returncode == 1
    assert result.stderr.decode() == f"ce-loss: error: {message}\n"


def test_a_full_stdout_leaves_the_output_file_whole(tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("this system has no /dev/full")
    out = tmp_path / "losses.npy"
    result = shell(f"{CE_LOSS} compute -l '1,2,3;0,0,1' -t 0,2 -o {out} > /dev/full")
    assert result.returncode == 1
    np.testing.assert_allclose(np.load(out), [2.4076059644443806, 0.5514447139320511], rtol=1e-15)


def test_a_closed_pipe_ends_quietly_with_status_141(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.zeros((50_000, 3)))
    np.save(tmp_path / "t.npy", np.zeros(50_000, dtype=int))
    command = f"{CE_LOSS} compute -l {tmp_path / 'x.npy'} -t {tmp_path / 't.npy'} -q --reduction none"
    result = shell(f"{command} | head -1; exit ${{PIPESTATUS[0]}}")
    assert_close(float(result.stdout), math.log(3), rtol=1e-15)
    assert result.stdout.count(b"\n") == 1
    assert result.stderr == b""
    assert result.returncode == 141


@pytest.mark.parametrize(
    "source",
    ["/dev/stdin < <(printf '1,2,3\\n4,5,6\\n')", "<(printf '1,2,3\\n4,5,6\\n')", "/dev/stdin"],
    ids=["/dev/stdin from a process substitution", "process substitution", "/dev/stdin from a pipe"],
)
def test_sources_that_cannot_seek_are_read_as_streams(source: str) -> None:
    command = f"{CE_LOSS} compute -l {source} -t 0,1 -q"
    if source == "/dev/stdin":
        command = f"printf '1,2,3\\n4,5,6\\n' | {command}"
    result = shell(command)
    assert result.stderr == b""
    assert_close(float(result.stdout), (2.4076059644443806 + 1.4076059644443804) / 2, rtol=1e-15)


@pytest.mark.parametrize(
    "command",
    [
        "compute -l '[[1,2,3],[3,2,1]]' -t 0,2 --by-class --top-k 1",
        "compare -l '[[1,2,3],[3,2,1]]' -t 0,2",
        "explain -l 1,2,3 -t 0",
        "explain --task binary -l 0.5,-1 -t 1,0 --pos-weight 2",
        "compute --task binary -l 0.5,-1 -t 1,0 --by-class",
    ],
)
def test_an_ascii_stdout_gets_ascii_glyphs(command: str) -> None:
    result = shell(f"{CE_LOSS} {command}", PYTHONIOENCODING="ascii")
    assert result.returncode == 0, result.stderr
    assert result.stdout.isascii()
    assert result.stdout.count(b"\n") > 5  # the whole result, not its first lines
    unicode = shell(f"{CE_LOSS} {command}")
    assert unicode.stdout.decode().translate(ASCII_SPELLING).count("\n") == result.stdout.count(b"\n")


def test_text_an_ascii_stdout_cannot_encode_is_one_error_line(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("id,a,b,label\ncaf\u00e9,1.5,0.5,0\nthe,0.5,1.5,1\n", encoding="utf-8")
    command = f"compute -l {tmp_path / 't.csv'} --target-column label --id-column id -f csv --no-warnings"
    result = shell(f"{CE_LOSS} {command}", PYTHONIOENCODING="ascii")
    assert result.returncode == 1
    assert result.stderr.decode() == (
        "ce-loss: error: stdout's encoding (ascii) cannot write '\u00e9'; set PYTHONIOENCODING=utf-8\n"
    )
