"""`--task binary` on the command line: PyTorch's reference cases through .npy files, options, warnings."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import mpmath
import numpy as np
import pytest

from tests.conftest import LOGIT_FORMULAS, Run, assert_close, spelled
from tests.test_binary import LOGITS, PROBABILITIES, BceCase


def _args(case: BceCase, folder: Path) -> list[str]:
    np.save(folder / "input.npy", case.input)
    np.save(folder / "target.npy", case.target)
    args = ["compute", "--task", "binary", "-l", str(folder / "input.npy"), "-t", str(folder / "target.npy")]
    for option, value in (("--weight", case.weight), ("--pos-weight", case.pos_weight)):
        if value is not None:
            np.save(folder / f"{option[2:]}.npy", np.array(value, dtype=np.float64))
            args += [option, str(folder / f"{option[2:]}.npy")]
    return [*args, "--format", "json", "--no-warnings"]


@pytest.mark.parametrize("formula", LOGIT_FORMULAS)
@pytest.mark.parametrize("case", LOGITS, ids=[case.name for case in LOGITS])
def test_cli_logits_match_pytorch(case: BceCase, formula: str, tmp_path: Path, run: Run) -> None:
    result = run(*_args(case, tmp_path), "--formula", formula)
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["task"], out["formula"], out["shape"]) == ("binary", formula, list(case.input.shape))
    assert_close(spelled(out["losses"]), case.losses)
    assert_close(spelled(out["mean"]), case.mean)
    assert_close(spelled(out["sum"]), case.sum)


@pytest.mark.parametrize("case", PROBABILITIES, ids=[case.name for case in PROBABILITIES])
def test_cli_probabilities_match_pytorch(case: BceCase, tmp_path: Path, run: Run) -> None:
    result = run(*_args(case, tmp_path), "--formula", "naive")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert_close(spelled(out["losses"]), case.losses)
    assert_close(spelled(out["mean"]), case.mean)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ignore-index", "0"], "--ignore-index is not an option of --task binary"),
        (["--label-smoothing", "0.1"], "--label-smoothing is not an option of --task binary"),
        (["--class-axis", "-1"], "--class-axis is not an option of --task binary"),
    ],
)
def test_options_the_binary_family_lacks_are_usage_errors(args: list[str], message: str, run: Run) -> None:
    result = run("compute", "--task", "binary", "-l", "2,-1", "-t", "1,0", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"ce-loss: error: {message}")


def test_pos_weight_without_the_binary_task_is_a_usage_error(run: Run) -> None:
    result = run("compute", "-l", "2,-1", "-t", "1", "--pos-weight", "2")
    assert result.exit_code == 2
    assert result.stderr == (
        "ce-loss: error: --pos-weight goes with --task binary (the weight of positives in binary cross-entropy)\n"
    )


def test_probabilities_given_to_a_logits_formula_warn_of_the_sigmoid_twice(run: Run) -> None:
    result = run("compute", "--task", "binary", "-l", "0.9,0.2,0.6", "-t", "1,0,1", "-q")
    assert result.exit_code == 0
    assert result.stderr == (
        "ce-loss: warning: the logits all lie in [0, 1], as probabilities do, but cross_entropy applies the sigmoid "
        "to them again; if these are probabilities, use --formula naive\n"
    )
    naive = run("compute", "--task", "binary", "-l", "0.9,0.2,0.6", "-t", "1,0,1", "-q", "--formula", "naive")
    assert naive.stderr == ""


def test_naive_refuses_values_outside_0_1_as_pytorch(run: Run) -> None:
    result = run("compute", "--task", "binary", "-l", "0.9,1.5", "-t", "1,0", "--formula", "naive")
    assert result.exit_code == 1
    assert "binary cross-entropy takes probabilities in [0, 1], and 1.5 is not one" in result.stderr


def test_one_logit_column_in_the_multiclass_task_points_to_binary(tmp_path: Path, run: Run) -> None:
    (tmp_path / "scores.csv").write_text("score,label\n2.1,1\n-0.3,0\n0.8,1\n")
    multiclass = run("compute", "-l", str(tmp_path / "scores.csv"), "--target-column", "label")
    assert multiclass.exit_code == 1
    assert multiclass.stderr.endswith("one logit per sample is a binary classifier's: use --task binary\n")
    binary = run("compute", "-l", str(tmp_path / "scores.csv"), "--target-column", "label", "--task", "binary", "-q")
    assert binary.exit_code == 0, binary.stderr
    expected = np.mean([np.log1p(np.exp(-2.1)), np.log1p(np.exp(-0.3)), np.log1p(np.exp(-0.8))])
    assert_close(float(binary.stdout), expected, rtol=1e-15)


def test_the_multi_label_table_shows_samples_and_labels(run: Run) -> None:
    result = run("compute", "--task", "binary", "-l", "[[0.3,-1.2,2],[1,1,-3]]", "-t", "[[1,0,1],[0,1,0]]")
    assert result.exit_code == 0
    out = result.stdout
    assert "n positive labels" in out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert re.search(r"^elements\s+6$", out, flags=re.MULTILINE)
    assert re.search(r"^positives \(target >= 0\.5\)\s+3$", out, flags=re.MULTILINE)
    assert re.search(r"^accuracy \(logit > 0\)\s+83\.33%$", out, flags=re.MULTILINE)
    assert re.search(r"^label 0: 1 positives, mean \d\.\d{6}, accuracy 50\.00%$", out, flags=re.MULTILINE)
    assert re.search(r"^label 2: 1 positives, mean \d\.\d{6}, accuracy 100\.00%$", out, flags=re.MULTILINE)


def test_compare_puts_the_three_binary_formulas_side_by_side(run: Run) -> None:
    out = json.loads(run("compare", "--task", "binary", "-l", "2,-1,0.3", "-t", "1,0,0.5", "-f", "json").stdout)
    assert out["task"] == "binary"
    assert list(out["formulas"]) == ["cross_entropy", "log_softmax_nll", "naive"]
    expected = [
        math.log1p(math.exp(-2.0)),
        math.log1p(math.exp(-1.0)),
        0.5 * (math.log1p(math.exp(-0.3)) + math.log1p(math.exp(0.3))),
    ]
    assert_close(out["formulas"]["cross_entropy"]["losses"], expected, rtol=1e-15)
    assert re.fullmatch(r"agrees (exactly|to \de-1[5-7])", out["verdicts"]["log_softmax_nll"])
    assert out["formulas"]["naive"]["losses"][:2] == ["NaN", "NaN"]  # 2 and -1 are no probabilities
    assert out["verdicts"]["naive"] == (
        "differs: NaN where cross_entropy is not; naive takes the inputs as probabilities, not logits"
    )


def test_compare_binary_clips_naive_with_eps(run: Run) -> None:
    args = ["compare", "--task", "binary", "-l", "0,0.5", "-t", "1,1", "-f", "json"]
    assert json.loads(run(*args).stdout)["formulas"]["naive"]["losses"][0] == 100.0  # PyTorch's clamp at -100
    clipped = json.loads(run(*args, "--eps", "auto").stdout)["formulas"]["naive"]["losses"][0]
    assert_close(clipped, -math.log(2.0**-52), rtol=1e-15)


def _mp_element_loss(x: Any, t: float, w: float, pw: float) -> Any:
    """``w * (pw * t * softplus(-x) + (1 - t) * softplus(x))`` in mpmath."""
    return w * (pw * t * mpmath.log1p(mpmath.exp(-x)) + (1 - t) * mpmath.log1p(mpmath.exp(x)))


def test_explain_binary_derives_one_element_with_its_gradient(run: Run) -> None:
    args = ["explain", "--task", "binary", "-l", "[[0.7, -0.5], [2, 0.1]]", "-t", "[[1, 0.25], [1, 0]]"]
    result = run(*args, "--pos-weight", "3,0.5", "-w", "[[2], [1]]", "--sample", "0,1", "-f", "json")
    assert result.exit_code == 0, result.stderr
    d = json.loads(result.stdout)
    assert (d["task"], d["element"], d["logit"], d["target"], d["weight"], d["pos_weight"]) == (
        "binary",
        [0, 1],
        -0.5,
        0.25,
        2.0,
        0.5,
    )
    with mpmath.workdps(60):
        x = mpmath.mpf(-0.5)
        expected = _mp_element_loss(x, 0.25, 2, 0.5)
        h = mpmath.mpf("1e-25")
        gradient = (_mp_element_loss(x + h, 0.25, 2, 0.5) - expected) / h
        sigmoid = 1 / (1 + mpmath.exp(-x))
    assert_close(d["loss"], float(expected), rtol=1e-15)
    assert_close(d["gradient"], float(gradient), rtol=1e-12)
    assert_close(d["sigmoid"], float(sigmoid), rtol=1e-15)
    assert d["naive_loss"] is None  # -0.5 is no probability


def test_explain_binary_says_why_the_stable_form_does_not_overflow(run: Run) -> None:
    result = run("explain", "--task", "binary", "-l", "1000,-3", "-t", "0,1")
    assert result.exit_code == 0
    assert re.search(r"│ loss = w · \(sum\) = 1 · \(0 \+ 1000\)\s+│ 1000\.0\s+│", result.stdout)
    assert "exp(|x|) = exp(1000) is inf in float64 (beyond 709.78)" in result.stdout


BINARY_STREAM = """
import resource, sys
import numpy as np
from ce_cli.io.sources import load
from ce_cli.families.binary.inputs import validate_binary
from ce_cli.families.binary.report import build_binary_report
from ce_cli.formulas import REGISTRY
logits = load(sys.argv[1], "logits").array
targets = np.zeros(logits.shape, dtype=np.float32)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
report = build_binary_report(validate_binary(logits, targets), REGISTRY["cross_entropy"])
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024, report.mean)
"""


def test_a_large_binary_file_streams_through_the_blocks(tmp_path: Path) -> None:
    import subprocess
    import sys

    mapped = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float32, shape=(4_000_000, 8))
    mapped[...] = 0.0
    mapped.flush()
    del mapped  # 122 MiB of logits; the targets and the losses (float64, 244 MiB each) are the report's own
    out = subprocess.run(
        [sys.executable, "-c", BINARY_STREAM, str(tmp_path / "x.npy")], capture_output=True, text=True, check=True
    ).stdout.split()
    growth_mib, mean = int(out[0]), float(out[1])
    assert mean == pytest.approx(math.log(2), rel=1e-12)
    assert growth_mib < 590  # the per-element losses and flags, not the logits file on top (~680 MiB with it)


def test_per_element_losses_keep_the_input_shape_in_every_output(tmp_path: Path, run: Run) -> None:
    args = ["compute", "--task", "binary", "-l", "[[0.3,-1.2],[2,0.1]]", "-t", "[[1,0],[0,1]]"]
    expected = [
        [_mp_element_loss(mpmath.mpf(x), t, 1, 1) for x, t in row]
        for row in (((0.3, 1), (-1.2, 0)), ((2, 0), (0.1, 1)))
    ]
    result = run(*args, "-o", str(tmp_path / "losses.npy"), "-f", "csv")
    assert result.exit_code == 0, result.stderr
    saved = np.load(tmp_path / "losses.npy")
    assert saved.shape == (2, 2)
    assert_close(saved, [[float(v) for v in row] for row in expected], rtol=1e-15)
    lines = result.stdout.splitlines()
    assert lines[0] == "index,target,loss"
    assert [line.split(",")[0:2] for line in lines[1:]] == [
        ['"(0', ' 0)"'],
        ['"(0', ' 1)"'],
        ['"(1', ' 0)"'],
        ['"(1', ' 1)"'],
    ]


def test_naive_with_eps_auto_in_the_binary_task(run: Run) -> None:
    args = ["compute", "--task", "binary", "-l", "0,1", "-t", "1,0", "--formula", "naive", "-q"]
    assert run(*args).stdout == "100.0\n"  # PyTorch's clamp of each log at -100
    assert_close(float(run(*args, "--eps", "auto").stdout), -math.log(2.0**-52), rtol=1e-15)
