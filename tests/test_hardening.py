"""Hardening, round three: every failure one clear line with its status, checks on the files actually read
and written, and every promise about output kept (narrow terminals, ASCII streams, closed pipes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ce_cli
from ce_cli.errors import InputError, OptionError
from tests.conftest import EXAMPLES, Run, assert_close, mp_loss

CE_LOSS = [sys.executable, "-m", "ce_cli"]
WORKED = ["-l", str(EXAMPLES / "worked_logits.npy"), "-t", str(EXAMPLES / "worked_targets.npy"), "--no-warnings"]


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CE_LOSS, *args], capture_output=True, text=True, env={**os.environ, **(env or {})})


# -- 1. one boundary ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: ce_cli.cross_entropy([[1, 2], [3]], [0, 1]), InputError, "logits must be a nested list of numbers"),
        (
            lambda: ce_cli.cross_entropy([[1, 2], [3, 4]], [0, 1], weight=[[1], [1, 2]]),
            InputError,
            "weight must be a nested list of numbers",
        ),
        (
            lambda: ce_cli.binary_cross_entropy_with_logits([1.0], [1.0], pos_weight=["a"]),
            InputError,
            "pos_weight must hold real numbers, not strings",
        ),
        (
            lambda: ce_cli.cross_entropy([[0.5, 0.5]], [0], formula="naive", eps="foo"),
            OptionError,
            "eps must be a number in [0, 0.5) or 'auto', not 'foo'",
        ),
        # PyTorch: F.cross_entropy(x, t, ignore_index=1.5) raises TypeError "argument 'ignore_index' must be int".
        (
            lambda: ce_cli.cross_entropy([[1, 2]], [0], ignore_index=1.5),  # type: ignore[call-overload]
            TypeError,
            "ignore_index must be an int",
        ),
        (
            lambda: ce_cli.binary_cross_entropy_with_logits([1.0], [1 + 1j]),
            InputError,
            "targets must hold real numbers, not complex numbers",
        ),
        (lambda: ce_cli.cross_entropy([[1, 2]], [0], ignore_index=2**63), OptionError, "beyond int64"),
        (
            lambda: ce_cli.cross_entropy([[1, 2]], [0], label_smoothing="x"),  # type: ignore[call-overload]
            TypeError,
            "label_smoothing must be",
        ),
    ],
)
def test_the_api_raises_its_own_errors_or_pytorchs_type_error(call: object, error: type, message: str) -> None:
    with pytest.raises(error, match=None) as raised:
        call()  # type: ignore[operator]
    assert message in str(raised.value)


def test_logsumexp_and_log_softmax_over_an_empty_axis_are_pytorchs() -> None:
    # PyTorch: torch.logsumexp(torch.zeros(2, 0), 1) is [-inf, -inf]; torch.log_softmax(torch.zeros(2, 0), 1)
    # is an empty (2, 0) tensor.
    assert ce_cli.logsumexp(np.zeros((2, 0)), axis=1).tolist() == [-np.inf, -np.inf]
    assert ce_cli.log_softmax(np.zeros((2, 0)), axis=1).shape == (2, 0)


def test_a_huge_ignore_index_is_a_usage_error_on_every_kernel(run: Run) -> None:
    result = run("compute", "-l", "1,2,3", "-t", "0", "--ignore-index", "9223372036854775808")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "ce-loss: error: ignore_index 9223372036854775808 is beyond int64\n"


def test_a_row_of_200000_logits_parses_in_memory_proportional_to_it(tmp_path: Path) -> None:
    row = np.random.default_rng(0).standard_normal(200_000).round(3)
    path = tmp_path / "wide.txt"
    np.savetxt(path, row[None, :], fmt="%.3f")
    data = path.read_bytes()
    for source, stdin in ((str(path), None), ("-", data)):
        result = subprocess.run(
            ["bash", "-c", f"ulimit -v 3000000; {' '.join(CE_LOSS)} compute -l {source} -t 7 -q"],
            input=stdin,
            capture_output=True,
        )
        assert result.returncode == 0, result.stderr
        assert_close(float(result.stdout), mp_loss(row.tolist(), 7, dps=30), rtol=1e-12)


@pytest.mark.parametrize("command", ["compute", "compare", "explain", "compute --task binary"])
def test_a_closed_pipe_ends_quietly_with_141_for_every_table(command: str, tmp_path: Path) -> None:
    x = np.random.default_rng(0).standard_normal((4000, 3))
    np.save(tmp_path / "x.npy", x if "binary" not in command else x[:, 0])
    t = np.zeros(4000, dtype=np.int64) if "binary" not in command else np.ones(4000)
    np.save(tmp_path / "t.npy", t)
    script = (
        f"{' '.join(CE_LOSS)} {command} -l {tmp_path / 'x.npy'} -t {tmp_path / 't.npy'} --max-rows 4000 "
        "--no-warnings | head -1 > /dev/null; echo ${PIPESTATUS[0]}"
    )
    result = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env={**os.environ, "COLUMNS": "400"}
    )
    assert result.stdout == "141\n"
    assert result.stderr == ""


# -- 2. what is really read and written ------------------------------------------------------------


def _shards(folder: Path, count: int = 3) -> None:
    for i in range(count):
        np.save(folder / f"logits-{i}.npy", np.random.default_rng(i).standard_normal((4, 3)))
        np.save(folder / f"targets-{i}.npy", np.zeros(4, dtype=np.int64))
        np.savez(folder / f"s-{i}.npz", logits=np.random.default_rng(i).standard_normal((4, 3)), labels=np.zeros(4))


def test_output_onto_a_shard_of_the_input_is_refused(tmp_path: Path, run: Run) -> None:
    _shards(tmp_path)
    before = (tmp_path / "logits-1.npy").read_bytes()
    pattern = str(tmp_path / "logits-*.npy")
    result = run("compute", "-l", pattern, "-t", str(tmp_path / "targets-*.npy"), "-o", str(tmp_path / "logits-1.npy"))
    assert (result.exit_code, result.stdout) == (2, "")
    target = tmp_path / "logits-1.npy"
    assert result.stderr == (
        f"ce-loss: error: --output '{target}' is the input '{target}': writing the losses there would replace it\n"
    )
    assert (tmp_path / "logits-1.npy").read_bytes() == before


def test_output_onto_a_fifo_is_refused(tmp_path: Path, run: Run) -> None:
    fifo = tmp_path / "out.csv"
    os.mkfifo(fifo)
    result = run("compute", *WORKED, "-o", str(fifo))
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"ce-loss: error: --output '{fifo}' is not a regular file (a FIFO or a device), which writing the losses "
        "would replace with one; give a file's path, or use -f csv and redirect stdout\n"
    )
    assert fifo.is_fifo()


def test_npz_shards_take_their_key(tmp_path: Path, run: Run) -> None:
    _shards(tmp_path)
    whole = np.concatenate([np.random.default_rng(i).standard_normal((4, 3)) for i in range(3)])
    expected = np.mean([mp_loss(row, 0) for row in whole.tolist()])
    result = run("compute", "-l", str(tmp_path / "s-*.npz:logits"), "-t", str(tmp_path / "s-*.npz:labels"), "-q")
    assert result.exit_code == 0, result.stderr
    assert_close(float(result.stdout), expected, rtol=1e-13)


def test_a_shard_of_one_number_is_named_once(tmp_path: Path, run: Run) -> None:
    np.save(tmp_path / "z-0.npy", np.float64(1.0))
    np.save(tmp_path / "z-1.npy", np.float64(2.0))
    result = run("compute", "-l", str(tmp_path / "z-*.npy"), "-t", "0")
    assert result.exit_code == 1
    assert result.stderr == (
        f"ce-loss: error: logits file '{tmp_path / 'z-0.npy'}' holds a single number (shape ()): shards are "
        "arrays joined along their first axis\n"
    )


def test_a_thousand_shard_pairs_fit_in_256_open_files(tmp_path: Path) -> None:
    for i in range(1000):
        np.save(tmp_path / f"x-{i:04d}.npy", np.ones((2, 3)))
        np.save(tmp_path / f"t-{i:04d}.npy", np.zeros(2, dtype=np.int64))
    command = f"ulimit -n 256; {' '.join(CE_LOSS)} compute -l '{tmp_path}/x-*.npy' -t '{tmp_path}/t-*.npy' -q"
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) == pytest.approx(np.log(3.0), rel=1e-15)


# -- 3. output promises ----------------------------------------------------------------------------


@pytest.mark.parametrize("columns", ["1", "5", "10", "20", "39"])
@pytest.mark.parametrize("command", ["compute --by-class --top-k 1 --worst 2", "compare", "compute --task binary"])
def test_no_number_is_cut_at_any_width(columns: str, command: str) -> None:
    args = WORKED if "binary" not in command else ["-l", "0.5,-1,2", "-t", "1,0,1", "--no-warnings"]
    result = _run(*command.split(), *args, env={"COLUMNS": columns})
    assert result.returncode == 0
    assert "…" not in result.stdout
    out = json.loads(_run(*command.split(), *args, "-f", "json").stdout)
    mean = out["formulas"]["cross_entropy"]["mean"] if command == "compare" else out["mean"]
    assert repr(mean) in result.stdout
