"""`compare`, `explain` and the warnings about probabilities and logits."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import mpmath
import pytest

from ce_cli import FORMULAS
from tests.conftest import (
    EXAMPLES,
    LOGIT_FORMULAS,
    ORACLES,
    WORKED_INLINE,
    WORKED_LOGITS,
    WORKED_TARGETS,
    Run,
    assert_close,
    mp_loss,
    mp_naive,
    warnings_in,
)

WORKED_FILES = ["-l", str(EXAMPLES / "worked_logits.csv"), "-t", str(EXAMPLES / "worked_targets.csv")]
LARGE = ["-l", str(EXAMPLES / "large_logits.csv"), "--target-column", "label"]
CE = [mp_loss(row, t) for row, t in zip(WORKED_LOGITS, WORKED_TARGETS, strict=True)]
NAIVE = [mp_naive(row, t) for row, t in zip(WORKED_LOGITS, WORKED_TARGETS, strict=True)]


def test_compare_json(run: Run) -> None:
    result = run("compare", *WORKED_FILES, "-f", "json")
    assert result.exit_code == 0
    assert warnings_in(result.stderr) == []  # compare itself shows the formulas' disagreement; no warning needed
    out = json.loads(result.stdout)
    assert list(out["formulas"]) == list(FORMULAS)
    for name in FORMULAS:
        expected = [ORACLES[name](row, t) for row, t in zip(WORKED_LOGITS, WORKED_TARGETS, strict=True)]
        assert_close(out["formulas"][name]["losses"], expected, rtol=1e-15)
        assert_close(out["formulas"][name]["mean"], sum(expected) / 3, rtol=1e-15)
        assert_close(out["formulas"][name]["sum"], sum(expected), rtol=1e-15)
    assert list(out["max_abs_diff"]) == [name for name in FORMULAS if name != "cross_entropy"]
    assert out["max_abs_diff"]["log_softmax_nll"] <= 1e-15
    assert_close(out["max_abs_diff"]["naive"], max(abs(a - b) for a, b in zip(NAIVE, CE, strict=True)), rtol=1e-14)


def test_compare_table_has_verdicts(run: Run) -> None:
    result = run("compare", *WORKED_FILES)
    assert result.exit_code == 0
    out = result.stdout
    number = r"(\d\.\d+)"
    two_step = re.search(rf"log_softmax_nll\s+│\s+{number}\s+│\s+{number}\s+│", out)
    naive = re.search(rf"naive\s+│\s+{number}\s+│\s+{number}\s+│", out)
    flat = " ".join(out.split())
    assert re.search(r"log_softmax_nll against cross_entropy: agrees (exactly|to \de-1\d)", flat)
    assert "naive against cross_entropy: differs by up to 0.77: naive takes the inputs as probabilities" in flat
    assert two_step is not None
    assert naive is not None
    assert_close([float(two_step[1]), float(two_step[2])], [sum(CE) / 3, sum(CE)], rtol=1e-15)
    assert_close([float(naive[1]), float(naive[2])], [sum(NAIVE) / 3, sum(NAIVE)], rtol=1e-15)
    assert "0.768148" in out  # the largest per-sample difference, on sample 0


def test_compare_csv(run: Run) -> None:
    result = run("compare", *WORKED_FILES, "-f", "csv")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "index,target,cross_entropy,log_softmax_nll,naive,diff_log_softmax_nll,diff_naive"
    cells = [line.split(",") for line in lines[1:]]
    assert [c[:2] for c in cells] == [["0", "0"], ["1", "1"], ["2", "2"]]
    assert_close([float(c[4]) for c in cells], NAIVE, rtol=1e-15)
    assert_close([float(c[6]) for c in cells], [abs(a - b) for a, b in zip(NAIVE, CE, strict=True)], rtol=1e-13)


def test_explain_json_matches_mpmath(run: Run) -> None:
    result = run("explain", *WORKED_FILES, "--sample", "1", "-f", "json")
    assert result.exit_code == 0
    d = json.loads(result.stdout)
    row = WORKED_LOGITS[1]
    assert d["sample"] == [1]
    assert d["target"] == 1
    assert d["logits"] == row
    assert d["max"] == 0.5555
    assert_close(d["shifted"], [v - 0.5555 for v in row], rtol=1e-15)
    with mpmath.workdps(50):
        exps = [mpmath.exp(mpmath.mpf(v) - mpmath.mpf(0.5555)) for v in row]
        total = mpmath.fsum(exps)
        lse = mpmath.mpf(0.5555) + mpmath.log(total)
        softmax = [float(e / total) for e in exps]
    assert_close(d["exp_shifted"], [float(e) for e in exps], rtol=1e-15)
    assert_close(d["sum_exp"], float(total), rtol=1e-15)
    assert_close(d["logsumexp"], float(lse), rtol=1e-15)
    assert d["target_logit"] == 0.5555
    assert_close([d["nll"], d["loss"]], [CE[1], CE[1]], rtol=1e-15)
    assert_close(d["softmax"], softmax, rtol=1e-14)
    assert_close(d["log_softmax"], [math.log(p) for p in softmax], rtol=1e-14)
    assert_close(d["gradient"], [softmax[0], softmax[1] - 1, softmax[2]], rtol=1e-14, atol=1e-15)
    assert_close(d["naive_loss"], NAIVE[1], rtol=1e-15)
    assert list(d["formulas"]) == list(FORMULAS)
    assert_close([d["formulas"][name] for name in FORMULAS], [ORACLES[name](row, 1) for name in FORMULAS], rtol=1e-15)
    assert d["verdicts"]["cross_entropy"] == "the reference (PyTorch's formula)"
    assert re.fullmatch(r"agrees (exactly|to \de-1[5-7])", d["verdicts"]["log_softmax_nll"])
    assert d["verdicts"]["naive"] == "differs by 0.3: naive takes the inputs as probabilities, not logits"


def _mp_smoothed_weighted_loss(row: list[float], target: int, weight: list[float], eps: float) -> Any:
    """PyTorch's documented per-sample loss with weight and label smoothing, in mpmath."""
    values = [mpmath.mpf(v) for v in row]
    lse = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in values))
    c = len(row)
    nll = lse - values[target]
    smooth = mpmath.fsum(mpmath.mpf(w) * (lse - v) for w, v in zip(weight, values, strict=True))
    return (1 - mpmath.mpf(eps)) * mpmath.mpf(weight[target]) * nll + mpmath.mpf(eps) / c * smooth


def test_explain_with_weight_and_smoothing_shows_the_terms_and_the_true_gradient(run: Run) -> None:
    weight, eps = [1.0, 2.0, 3.0, 4.0], 0.1
    result = run("explain", *LARGE, "--sample", "1", "-w", "1,2,3,4", "--label-smoothing", "0.1", "-f", "json")
    assert result.exit_code == 0
    d = json.loads(result.stdout)
    row, target = [-1000.0, 1000.0, 998.0, 0.0], 1
    with mpmath.workdps(60):
        expected_loss = _mp_smoothed_weighted_loss(row, target, weight, eps)
        h = mpmath.mpf("1e-25")
        gradient = []
        for j in range(4):
            bumped = [mpmath.mpf(v) + (h if i == j else 0) for i, v in enumerate(row)]
            gradient.append(float((_mp_smoothed_weighted_loss(bumped, target, weight, eps) - expected_loss) / h))
    assert_close(d["loss"], float(expected_loss), rtol=1e-13)
    assert_close(d["weighted_nll"] * (1 - eps) + d["smoothing_term"], d["loss"], rtol=1e-14)
    assert_close(d["gradient"], gradient, rtol=1e-9, atol=1e-12)
    with pytest.MonkeyPatch.context() as wide:
        wide.setenv("COLUMNS", "200")  # each step on one line
        table = run("explain", *LARGE, "--sample", "1", "-w", "1,2,3,4", "--label-smoothing", "0.1")
    assert "weighted: w[t] · NLL = 2 · " in table.stdout
    assert "smoothed: (1 - E) · w[t] · NLL + (E / C) · Σ_c w_c · (-log p_c)" in table.stdout


def test_explain_large_logits_shows_why_the_shift_is_needed(run: Run) -> None:
    result = run("explain", *LARGE)
    assert result.exit_code == 0
    out = result.stdout
    assert "sample 0: target class 2, C = 4 classes" in out
    assert re.search(r"m = max\(x\)\s+│ 1002\s", out)
    assert re.search(r"logsumexp\(x\) = m \+ log S\s+│ 1002 \+ 0\.4401896986 = 1002\.44019\s", out)
    assert "softmax(x) - onehot(t)" in out
    assert "without the shift, exp(x) overflows: exp(1002) is inf in float64" in out
    assert_close(float(re.search(r"│ loss\s+│ (\S+)", out).group(1)), mp_loss([1000, 1001, 1002, 999], 2), rtol=1e-15)  # type: ignore[union-attr]


def test_explain_k_dimensional_sample_by_tuple_or_flat_index(tmp_path: Any, run: Run) -> None:
    import numpy as np

    np.save(tmp_path / "x.npy", np.arange(24, dtype=float).reshape(2, 3, 4) / 7)
    np.save(tmp_path / "t.npy", np.array([[0, 1, 2, 0], [1, 2, 0, 1]]))
    args = ["explain", "-l", str(tmp_path / "x.npy"), "-t", str(tmp_path / "t.npy"), "-f", "json"]
    by_tuple = json.loads(run(*args, "--sample", "1,2").stdout)
    by_flat = json.loads(run(*args, "--sample", "6").stdout)
    assert by_tuple == by_flat
    assert by_tuple["sample"] == [1, 2]
    assert by_tuple["target"] == 0
    assert_close(by_tuple["logits"], [14 / 7, 18 / 7, 22 / 7], rtol=1e-15)


def test_explain_ignored_and_probability_targets(run: Run) -> None:
    ignored = run("explain", "-l", "1,2,3;1,1,1", "-t", "-100,1")
    assert "-100 is the ignore index: loss 0" in ignored.stdout
    soft = json.loads(
        run("explain", "-l", "[[1,2,3],[1,1,1]]", "-t", "[[0.2,0.3,0.5],[1,0,0]]", "-s", "-1", "-f", "json").stdout
    )
    assert soft["sample"] == [1]
    assert soft["target"] is None
    assert soft["target_distribution"] == [1.0, 0.0, 0.0]
    assert_close(soft["loss"], math.log(3), rtol=1e-15)


@pytest.mark.parametrize("sample", ["3", "-4", "1,1", "x", ""])
def test_explain_sample_out_of_range_is_a_usage_error(sample: str, run: Run) -> None:
    result = run("explain", "-l", WORKED_INLINE, "-t", "0,1,2", "--sample", sample)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("ce-loss: error: --sample")


PROBABILITIES_WARNING = "ce-loss: warning: the logits look like probabilities"


@pytest.mark.parametrize("formula", LOGIT_FORMULAS)
def test_probabilities_given_as_logits_warn(formula: str, run: Run) -> None:
    result = run("compute", *WORKED_FILES, "--formula", formula, "-q")
    silenced = run("compute", *WORKED_FILES, "--formula", formula, "-q", "--no-warnings")
    assert result.exit_code == silenced.exit_code == 0
    assert result.stdout == silenced.stdout  # a warning never changes stdout
    lines = warnings_in(result.stderr)
    assert len(lines) == 1
    assert lines[0].startswith(PROBABILITIES_WARNING)
    assert "--formula naive" in lines[0]
    assert silenced.stderr == ""


@pytest.mark.parametrize("logits", ["2,-1,0.5;0.3,0.3,0.1", "0.2,0.3,0.1;0.1,0.1,0.8"])
def test_naive_given_non_probabilities_warns(logits: str, run: Run) -> None:
    result = run("compute", "-l", logits, "-t", "0,2", "--formula", "naive", "-q")
    assert result.exit_code == 0
    assert result.stdout
    assert result.stderr.startswith("ce-loss: warning: naive expects probabilities")
    assert "probabilities" in result.stderr
    assert run("compute", "-l", logits, "-t", "0,2", "--formula", "naive", "-q", "--no-warnings").stderr == ""


def test_ordinary_logits_and_real_probabilities_do_not_warn(run: Run) -> None:
    assert run("compute", "-l", "2,-1,0.5;0.3,1.7,-4", "-t", "0,2").stderr == ""
    assert warnings_in(run("compute", *WORKED_FILES, "--formula", "naive").stderr) == []


def test_non_finite_logits_warn_once_counting_the_affected_samples(run: Run) -> None:
    result = run(
        "compute", "-l", "[[1, NaN, 3], [4, 5, 6], [-Infinity, 0, 1], [0, -Infinity, 1]]", "-t", "0,1,0,2", "-q"
    )
    assert result.exit_code == 0
    assert result.stdout == "NaN\n"
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("ce-loss: warning: 2 of 4 samples have NaN or infinite logits")


def test_explain_on_many_classes_shows_the_target_and_the_largest_logits(tmp_path: Any, run: Run) -> None:
    import numpy as np

    logits = np.zeros((1, 20_000))
    logits[0, [11, 222, 3333]] = [5.0, 7.0, 6.0]
    np.save(tmp_path / "x.npy", logits)
    result = run("explain", "-l", str(tmp_path / "x.npy"), "-t", "19999", "--max-rows", "4")
    assert result.exit_code == 0
    flat = " ".join(result.stdout.split())
    assert "per class (◀ marks the target): the target and the largest logits, 19996 classes not shown" in flat
    rows = re.findall(r"^│?\s*(\d+)(?: ◀)? │", result.stdout, flags=re.MULTILINE)
    assert rows == ["11", "222", "3333", "19999"]
    assert json.loads(run("explain", "-l", str(tmp_path / "x.npy"), "-t", "0", "-f", "json").stdout)["logits"][222] == 7
