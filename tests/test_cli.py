"""The command line: output formats exactly, --output, exit codes, stdout vs stderr."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ce_cli
from ce_cli.native import version_line
from tests.conftest import WORKED_INLINE, WORKED_LOGITS, WORKED_TARGETS, Run, assert_close, mp_loss

WORKED = ["compute", "--logits", WORKED_INLINE, "--targets", "0,1,2", "--no-warnings"]
LOSSES = [mp_loss(row, t) for row, t in zip(WORKED_LOGITS, WORKED_TARGETS, strict=True)]
MEAN = sum(LOSSES) / 3
FULL_PRECISION = re.compile(r"-?\d+\.\d+(e-?\d+)?")


def test_version(run: Run) -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout == f"ce-loss {ce_cli.__version__}\n{version_line()}\n"
    assert result.stderr == ""


def test_python_dash_m_runs_the_same_app() -> None:
    out = subprocess.run([sys.executable, "-m", "ce_cli", "--version"], capture_output=True, text=True, check=False)
    assert out.returncode == 0
    assert out.stdout == f"ce-loss {ce_cli.__version__}\n{version_line()}\n"


def test_json_output(run: Run) -> None:
    result = run(*WORKED, "--format", "json")
    assert result.exit_code == 0
    assert result.stderr == ""
    assert result.stdout.endswith("}\n")
    assert result.stdout.count("\n") == 1
    out = json.loads(result.stdout)
    assert list(out)[:8] == ["formula", "reduction", "shape", "target_kind", "losses", "mean", "sum", "value"]
    assert out["formula"] == "cross_entropy"
    assert out["reduction"] == "mean"
    assert out["shape"] == [3, 3]
    assert out["target_kind"] == "indices"
    assert out["n_samples"] == 3
    assert out["n_ignored"] == 0
    assert out["num_classes"] == 3
    assert out["denominator"] == 3.0
    assert out["accuracy"] == pytest.approx(1 / 3)
    assert_close(out["losses"], LOSSES, rtol=1e-15)
    assert_close([out["mean"], out["value"], out["sum"]], [MEAN, MEAN, 3 * MEAN], rtol=1e-15)
    assert_close(out["perplexity"], math.exp(MEAN), rtol=1e-14)


def test_json_is_strict_with_non_finite_numbers(run: Run) -> None:
    result = run("compute", "-l", "[[1e400, 0, 1], [0, 1, 2], [-1e400, 0, 0]]", "-t", "1,1,0", "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert '"losses": ["NaN", 1.4076059644443804, "Infinity"]' in result.stdout
    out = json.loads(result.stdout, parse_constant=lambda name: pytest.fail(f"non-strict JSON constant {name}"))
    assert out["losses"][0] == "NaN"
    assert out["losses"][2] == "Infinity"
    assert out["mean"] == "NaN"


def test_csv_output(run: Run) -> None:
    result = run(*WORKED, "--format", "csv")
    assert result.exit_code == 0
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == "index,target,predicted,p_target,loss"
    assert len(lines) == 4
    for i, line in enumerate(lines[1:]):
        index, target, predicted, p_target, loss = line.split(",")
        assert (index, target, predicted) == (str(i), str(i), "1")
        assert FULL_PRECISION.fullmatch(loss)
        assert_close(float(loss), LOSSES[i], rtol=1e-15)
        assert_close(float(p_target), math.exp(-LOSSES[i]), rtol=1e-14)


def test_tsv_output(run: Run) -> None:
    result = run(*WORKED, "--format", "tsv")
    assert result.exit_code == 0
    rows = list(csv.reader(io.StringIO(result.stdout), delimiter="\t"))
    assert rows[0] == ["index", "target", "predicted", "p_target", "loss"]
    assert [row[0] for row in rows[1:]] == ["0", "1", "2"]


@pytest.mark.parametrize(("reduction", "expected"), [("mean", [MEAN]), ("sum", [3 * MEAN]), ("none", LOSSES)])
def test_quiet_prints_only_the_headline_value(reduction: str, expected: list[float], run: Run) -> None:
    result = run(*WORKED, "-q", "--reduction", reduction)
    assert result.exit_code == 0
    assert result.stderr == ""
    lines = result.stdout.split("\n")
    assert lines[-1] == ""
    values = lines[:-1]
    assert len(values) == len(expected)
    assert all(FULL_PRECISION.fullmatch(v) for v in values)
    assert_close([float(v) for v in values], expected, rtol=1e-15)
    assert all(repr(float(v)) == v for v in values)  # full precision: the shortest round-trip repr


def test_table_output(run: Run) -> None:
    result = run(*WORKED)
    assert result.exit_code == 0
    assert result.stderr == ""
    out = result.stdout
    assert "\x1b[" not in out  # no colour codes on a plain stream
    for header in ("index", "target", "predicted", "p(target)", "loss"):
        assert header in out
    assert "1.324176" in out
    assert "0.892076" in out
    assert "1.126476" in out
    assert re.search(r"samples\s+3\nclasses \(C\)\s+3\nignored\s+0\n", out)
    assert "logits shape" not in out  # shown for K-dimensional input only
    assert re.search(r"mean\s+1\.1142424", out)
    assert re.search(r"perplexity exp\(mean\)\s+3\.0472", out)
    assert re.search(r"accuracy\s+33\.33%", out)


def test_table_elides_the_middle_but_summarises_everything(run: Run) -> None:
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((50, 4))
    targets = rng.integers(0, 4, 50)
    inline = ";".join(",".join(repr(v) for v in row) for row in logits.tolist())
    result = run("compute", "-l", inline, "-t", ",".join(map(str, targets)), "--max-rows", "6")
    assert result.exit_code == 0, result.stderr
    shown = re.findall(r"^│\s+(\d+) │", result.stdout, flags=re.MULTILINE)
    assert shown == ["0", "1", "2", "47", "48", "49"]
    assert "(44 more)" in result.stdout
    assert re.search(r"samples\s+50\n", result.stdout)


@pytest.mark.parametrize("suffix", [".npy", ".csv", ".tsv"])
def test_output_file(suffix: str, tmp_path: Path, run: Run) -> None:
    path = tmp_path / f"losses{suffix}"
    result = run(*WORKED, "-q", "-o", str(path))
    assert result.exit_code == 0
    assert_close(float(result.stdout), MEAN, rtol=1e-15)
    if suffix == ".npy":
        saved = np.load(path, allow_pickle=False)
        assert saved.dtype == np.float64
        assert_close(saved, LOSSES, rtol=1e-15)
    else:
        rows = list(csv.reader(io.StringIO(path.read_text()), delimiter="," if suffix == ".csv" else "\t"))
        assert rows[0] == ["index", "target", "predicted", "p_target", "loss"]
        assert_close([float(row[4]) for row in rows[1:]], LOSSES, rtol=1e-15)
    assert sorted(os.listdir(tmp_path)) == [path.name]  # no temporary file left behind


def test_failed_run_leaves_no_output_file(tmp_path: Path, run: Run) -> None:
    path = tmp_path / "losses.npy"
    result = run("compute", "-l", WORKED_INLINE, "-t", "0,1,7", "-o", str(path))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xml"], "Invalid value for '--format' / '-f': 'xml' is not one of 'table', 'json', 'csv', 'tsv'"),
        (
            ["--formula", "crossentropy"],
            "Invalid value for '--formula': 'crossentropy' is not one of 'cross_entropy', 'log_softmax_nll', 'naive'; "
            "did you mean 'cross_entropy'?",
        ),
        (["--reduction", "avg"], "Invalid value for '--reduction': 'avg' is not one of 'mean', 'sum', 'none'"),
        (["--label-smoothing", "1.5"], "--label-smoothing must be in [0, 1], not 1.5"),
        (["--label-smoothing", "nan"], "--label-smoothing must be in [0, 1], not nan"),
        (["--bogus"], "No such option"),
        (["--max-rows", "-1"], "Invalid value for '--max-rows'"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(args: list[str], message: str, run: Run) -> None:
    result = run(*WORKED, *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"ce-loss: error: {message}")
    assert args[0] in lines[0]
    assert "Value error" not in lines[0]
    assert "Input should be" not in lines[0]


def test_a_mistyped_command_gets_a_suggestion(run: Run) -> None:
    result = run("comptue", "-l", "1,2,3", "-t", "0")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("ce-loss: error: No such command 'comptue'")  # Click words the rest by version
    assert "'compute'" in lines[0]
    assert lines[0].endswith("(see 'ce-loss --help')")


def test_missing_logits_is_a_usage_error(run: Run) -> None:
    result = run("compute", "-t", "0")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Missing option" in result.stderr
    assert "--logits" in result.stderr


def test_a_bug_is_not_disguised_as_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from ce_cli.cli import app
    from ce_cli.families.softmax import report

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(report, "build_report", broken)  # the function compute calls
    result = CliRunner().invoke(app, WORKED)
    assert isinstance(result.exception, RuntimeError)
    assert "ce-loss: error" not in result.stderr


def test_all_targets_ignored_warns_on_stderr_only(run: Run) -> None:
    result = run("compute", "-l", WORKED_INLINE, "-t", "-100,-100,-100", "-f", "json")
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert out["mean"] == "NaN"
    assert out["sum"] == 0.0
    assert out["n_ignored"] == 3
    assert "ce-loss: warning: every target is the ignore index -100" in result.stderr
    silenced = run("compute", "-l", WORKED_INLINE, "-t", "-100,-100,-100", "-f", "json", "--no-warnings")
    assert silenced.stderr == ""
    assert silenced.stdout == result.stdout


def test_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    np.save(tmp_path / "x.npy", rng.standard_normal((20000, 3)))
    np.save(tmp_path / "t.npy", rng.integers(0, 3, 20000))
    code = "from ce_cli.cli import main; main()"
    args = ["compute", "-l", str(tmp_path / "x.npy"), "-t", str(tmp_path / "t.npy"), "-q", "--reduction", "none"]
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()
    proc.stdout.close()
    _, stderr = proc.communicate(timeout=60)
    assert stderr == b""  # no traceback, no error line: the reader simply stopped reading


def test_table_summary_shows_ignored_positions_and_the_weight_sum(run: Run) -> None:
    result = run("compute", "-l", WORKED_INLINE, "-t", "0,-100,2", "-w", "0.5,2,1.5", "--no-warnings")
    assert result.exit_code == 0, result.stderr
    assert "-100 (ignored)" in result.stdout
    assert re.search(r"ignored\s+1\n", result.stdout)
    assert re.search(r"weight sum \(mean divides by it\)\s+2\.000000\n", result.stdout)  # w[0] + w[2]


def test_k_dimensional_csv_has_tuple_indices(tmp_path: Path, run: Run) -> None:
    np.save(tmp_path / "x.npy", np.zeros((2, 3, 2)))
    np.save(tmp_path / "t.npy", np.array([[0, 1], [2, 0]]))
    result = run("compute", "-l", str(tmp_path / "x.npy"), "-t", str(tmp_path / "t.npy"), "-f", "csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert [row[:2] for row in rows[1:]] == [["(0, 0)", "0"], ["(0, 1)", "1"], ["(1, 0)", "2"], ["(1, 1)", "0"]]
    table = run("compute", "-l", str(tmp_path / "x.npy"), "-t", str(tmp_path / "t.npy")).stdout
    assert re.search(r"samples\s+4\nclasses \(C\)\s+3\nlogits shape\s+\(2, 3, 2\)\n", table)
    assert_close([float(row[4]) for row in rows[1:]], [math.log(3)] * 4, rtol=1e-15)
