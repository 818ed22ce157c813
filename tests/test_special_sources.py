"""Sources that are not regular files, or are endless, or longer than a head: read as streams, with a bound."""

from __future__ import annotations

import io
import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from ce_cli.errors import InputError
from ce_cli.io import sources
from tests.conftest import Run, assert_close, mp_loss

NOT_TEXT = "is neither text (UTF-8) nor a .npy/.npz file"


@pytest.mark.parametrize("name", ["zero", "zero.csv", "zero.npz"])
def test_dev_zero_by_any_name_is_refused_at_once(name: str, tmp_path: Path, run: Run) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("this system has no /dev/zero")
    link = tmp_path / name
    link.symlink_to("/dev/zero")
    result = run("compute", "-l", str(link), "-t", "0")
    assert result.exit_code == 1
    assert result.stderr == f"ce-loss: error: logits file '{link}' {NOT_TEXT}\n"


def test_nul_bytes_on_stdin_are_refused_at_once(run: Run) -> None:
    result = run("compute", "-l", "-", "-t", "0", input=bytes(1 << 16))
    assert result.exit_code == 1
    assert result.stderr == f"ce-loss: error: logits from stdin {NOT_TEXT}\n"


class _Endless(io.RawIOBase):
    """A stream that never ends: ``1,2,3`` lines for ever."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        line = b"1,2,3\n" * (len(buffer) // 6)
        buffer[: len(line)] = line
        return len(line)


def test_an_endless_stream_stops_at_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "MAX_STREAM_BYTES", 1 << 22)
    with pytest.raises(InputError, match=r"^logits from stdin goes on beyond 4194304 bytes; save it to a file first$"):
        sources.load("-", "logits", io.BufferedReader(_Endless()))


def test_a_named_pipe_is_read_as_a_stream(tmp_path: Path, run: Run) -> None:
    fifo = tmp_path / "logits"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text("1,2,3\n4,5,6\n"))
    writer.start()
    result = run("compute", "-l", str(fifo), "-t", "0,1", "-f", "json")
    writer.join(timeout=10)
    assert result.exit_code == 0, result.stderr
    assert_close(json.loads(result.stdout)["losses"], [mp_loss([1, 2, 3], 0), mp_loss([4, 5, 6], 1)], rtol=1e-15)


def test_a_header_longer_than_the_head_is_read_whole(tmp_path: Path, run: Run) -> None:
    rows = np.random.default_rng(0).standard_normal((3, 10_000))
    header = ",".join(f"class_{i}" for i in range(10_000)) + ",label"
    assert len(header) > 1 << 16
    body = "\n".join(",".join(f"{v:.4f}" for v in row) + ",5" for row in rows)
    (tmp_path / "wide.csv").write_text(header + "\n" + body + "\n")
    result = run("compute", "-l", str(tmp_path / "wide.csv"), "--target-column", "label", "-f", "json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["shape"] == [3, 10_000]
    parsed = np.round(rows, 4)
    assert_close(out["losses"], [mp_loss(row.tolist(), 5) for row in parsed], rtol=1e-13)


PARSE_SCRIPT = """
import resource, sys
from ce_cli.io.sources import load
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
array = load(sys.argv[1], "logits", sys.stdin.buffer).array
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024, array.nbytes // 2**20, array.shape[0])
"""


@pytest.mark.parametrize("how", ["path", "stdin"])
def test_a_csv_costs_about_its_array(how: str, tmp_path: Path) -> None:
    import subprocess
    import sys

    rows = 400_000
    values = np.random.default_rng(1).standard_normal((rows, 5))
    np.savetxt(tmp_path / "x.csv", values, delimiter=",", fmt="%.6f", header="a,b,c,d,e", comments="")
    text_mib = (tmp_path / "x.csv").stat().st_size / 2**20
    with open(tmp_path / "x.csv", "rb") as stdin:
        out = subprocess.run(
            [sys.executable, "-c", PARSE_SCRIPT, str(tmp_path / "x.csv") if how == "path" else "-"],
            stdin=stdin,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    growth, array_mib, parsed = int(out[0]), int(out[1]), int(out[2])
    assert parsed == rows
    held = array_mib + (text_mib if how == "stdin" else 0)  # stdin's bytes are kept to name a bad cell
    assert growth < 1.3 * held + 8, (growth, array_mib, text_mib)


def test_a_json_file_is_a_nested_list_of_numbers(tmp_path: Path, run: Run) -> None:
    (tmp_path / "x.json").write_text("[[1, 2, 3],\n [4, 5, 6]]\n")
    result = run("compute", "-l", str(tmp_path / "x.json"), "-t", "0,1", "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert_close(json.loads(result.stdout)["losses"], [mp_loss([1, 2, 3], 0), mp_loss([4, 5, 6], 1)], rtol=1e-15)
    (tmp_path / "bad.json").write_text('{"logits": [1, 2]}')
    bad = run("compute", "-l", str(tmp_path / "bad.json"), "-t", "0")
    assert bad.exit_code == 1
    assert bad.stderr == (
        f"ce-loss: error: logits file '{tmp_path / 'bad.json'}': the JSON must be a nested list of numbers "
        "with rows of equal length\n"
    )
