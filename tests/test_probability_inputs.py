"""Probabilities as people export them: recognised within their rounding, scored by naive with --eps as
scikit-learn's log_loss scores them, and warnings that never point at each other."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ce_cli import OptionError, cross_entropy
from ce_cli.data_warnings import (
    DataWarning,
    NotProbabilities,
    ProbabilitiesGivenAsLogits,
    ZeroProbabilities,
)
from ce_cli.families.softmax.inputs import validate_inputs
from ce_cli.families.softmax.report import build_report
from ce_cli.formulas import REGISTRY
from tests.conftest import DATA, Run, assert_close

PROBABILITIES_AS_LOGITS = (
    "ce-loss: warning: the logits look like probabilities (every row is in [0, 1] and sums to 1), but cross_entropy "
    "expects logits (raw scores) and applies softmax to them again; if these are probabilities, use --formula naive"
)
ZERO_CLIP = " --eps auto (some probabilities are 0)"


@dataclass(frozen=True)
class SklearnCase:
    name: str
    probabilities: np.ndarray
    targets: np.ndarray
    log_loss: float
    log_loss_sum: float

    @property
    def rtol(self) -> float:
        # scikit-learn computes float32 input in float32; ce-loss computes in float64
        return 1e-6 if self.probabilities.dtype == np.float32 else 1e-13


def _sklearn_cases() -> list[SklearnCase]:
    raw = json.loads((DATA / "sklearn_log_loss_cases.json").read_text())
    return [
        SklearnCase(
            c["name"],
            np.array(c["probabilities"], dtype=c["dtype"]),
            np.array(c["targets"]),
            c["log_loss"],
            c["log_loss_sum"],
        )
        for c in raw["cases"]
    ]


SKLEARN = {case.name: case for case in _sklearn_cases()}


def test_the_recorded_sklearn_values_are_intact() -> None:
    import hashlib

    digest = hashlib.sha256((DATA / "sklearn_log_loss_cases.json").read_bytes()).hexdigest()
    assert digest == "bd6e28843f6f055230aef072b8c9435d719c8df2d47b8765697f692059c76bdd"
    assert len(SKLEARN) == 8


def _csv(path: Path, rows: np.ndarray) -> str:
    path.write_text("\n".join(",".join(repr(float(v)) for v in row) for row in rows.tolist()) + "\n")
    return str(path)


@pytest.mark.parametrize("name", list(SKLEARN))
def test_naive_with_eps_auto_is_sklearn_log_loss(name: str) -> None:
    case = SKLEARN[name]
    mean = cross_entropy(case.probabilities, case.targets, formula="naive", eps="auto")
    total = cross_entropy(case.probabilities, case.targets, formula="naive", eps="auto", reduction="sum")
    assert_close(mean, case.log_loss, rtol=case.rtol, atol=0)
    assert_close(total, case.log_loss_sum, rtol=case.rtol, atol=0)


@pytest.mark.parametrize("name", list(SKLEARN))
def test_the_cli_scores_probability_files_as_sklearn(name: str, tmp_path: Path, run: Run) -> None:
    case = SKLEARN[name]
    np.save(tmp_path / "p.npy", case.probabilities)
    np.save(tmp_path / "t.npy", case.targets)
    args = ["compute", "-l", str(tmp_path / "p.npy"), "-t", str(tmp_path / "t.npy"), "--formula", "naive"]
    result = run(*args, "--eps", "auto", "-f", "json")
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert_close(out["mean"], case.log_loss, rtol=case.rtol, atol=0)
    assert out["eps"] == float(np.finfo(case.probabilities.dtype).eps)
    # [0.5, 0.5, 0.2] is no distribution, even rounded to 1 decimal; the float32 case's row 3 had a value
    # set to 0 after it was normalised (scikit-learn warns about both files too). Rounded rows are fine.
    not_distributions = {"rows_not_summing_to_one_3x3": "1 of 3", "float32_with_zeros_10x5": "1 of 10"}
    if name in not_distributions:
        assert result.stderr == (
            f"ce-loss: warning: naive expects probabilities, but {not_distributions[name]} rows have values outside "
            "[0, 1] or do not sum to 1; for logits (raw scores) use --formula cross_entropy\n"
        )
    else:
        assert result.stderr == ""


@pytest.mark.parametrize("decimals", [2, 3, 4, 6])
def test_rounded_probabilities_given_as_logits_warn(decimals: int, tmp_path: Path, run: Run) -> None:
    case = SKLEARN[f"softmax_rounded_{decimals}dp_40x4"]
    logits = _csv(tmp_path / "p.csv", case.probabilities)
    result = run("compute", "-l", logits, "-t", ",".join(map(str, case.targets)), "-q")
    assert result.exit_code == 0
    zeros = bool(np.any(case.probabilities == 0.0))
    assert result.stderr == PROBABILITIES_AS_LOGITS + (ZERO_CLIP if zeros else "") + "\n"


@pytest.mark.parametrize(
    ("rows", "probability_like"),
    [
        ("0.34,0.34,0.33;0.5,0.25,0.25", True),  # 1.01: within 3 x 0.005, the rounding of 2 decimals
        ("0.35,0.34,0.33;0.5,0.25,0.25", False),  # 1.02: beyond it
        ("0.334,0.333,0.334;0.5,0.25,0.25", True),  # 1.001: within 3 x 0.0005
        ("0.336,0.333,0.334;0.5,0.25,0.25", False),  # 1.003: beyond it
        ("0.2,0.3,0.1;0.5,0.4,0.3", False),  # small logits, no distribution
    ],
)
def test_the_tolerance_is_the_rounding_the_values_were_written_with(
    rows: str, probability_like: bool, run: Run
) -> None:
    result = run("compute", "-l", rows, "-t", "0,1", "-q")
    assert result.exit_code == 0
    assert result.stderr == (PROBABILITIES_AS_LOGITS + "\n" if probability_like else "")


@pytest.mark.parametrize(("dtype", "off", "probability_like"), [("float16", 0.0, True), ("float64", 1e-5, False)])
def test_full_precision_probabilities_are_held_to_their_dtype(
    dtype: str, off: float, probability_like: bool, tmp_path: Path, run: Run
) -> None:
    z = np.random.default_rng(4).standard_normal((30, 7))
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    p[:, 0] += off
    np.save(tmp_path / "p.npy", p.astype(dtype))
    result = run("compute", "-l", str(tmp_path / "p.npy"), "-t", ",".join(["1"] * 30), "-q")
    assert result.stderr == (PROBABILITIES_AS_LOGITS + "\n" if probability_like else "")


def test_a_zero_probability_at_the_target_is_infinite_and_the_warning_names_eps(run: Run) -> None:
    args = ["compute", "-l", "0,0.25,0.75;0.5,0.5,0", "-t", "0,1", "--formula", "naive", "-q"]
    result = run(*args)
    assert result.exit_code == 0
    assert result.stdout == "Infinity\n"
    assert result.stderr == (
        "ce-loss: warning: 1 of 2 samples have probability 0 where their target is, so their loss is infinite; "
        "--eps auto clips probabilities into [eps, 1 - eps] as sklearn.metrics.log_loss does (or --eps E)\n"
    )
    clipped = run(*args, "--eps", "auto")
    assert clipped.stderr == ""
    assert_close(float(clipped.stdout), (-math.log(2.0**-52) - math.log(0.5)) / 2, rtol=1e-15)
    assert_close(float(run(*args, "--eps", "0.001").stdout), (-math.log(0.001) - math.log(0.5)) / 2, rtol=1e-15)


def test_the_advice_for_probabilities_with_zeros_is_the_clipped_formula(run: Run) -> None:
    result = run("compute", "-l", "0,0.25,0.75;0.5,0.5,0", "-t", "0,1", "-q")
    assert result.stderr == PROBABILITIES_AS_LOGITS + ZERO_CLIP + "\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--eps", "auto"], "--eps clips probabilities, so it goes with --formula naive; cross_entropy takes logits"),
        (
            ["--formula", "log_softmax_nll", "--eps", "1e-7"],
            "--eps clips probabilities, so it goes with --formula naive; log_softmax_nll takes logits",
        ),
        (["--formula", "naive", "--eps", "x"], "--eps takes a number in [0, 0.5) or auto, not 'x'"),
        (["--formula", "naive", "--eps", "0.5"], "--eps takes a number in [0, 0.5) or auto, not '0.5'"),
        (["--formula", "naive", "--eps", "nan"], "--eps takes a number in [0, 0.5) or auto, not 'nan'"),
    ],
)
def test_eps_outside_the_formulas_that_take_probabilities_is_a_usage_error(
    args: list[str], message: str, run: Run
) -> None:
    result = run("compute", "-l", "0.2,0.8;0.5,0.5", "-t", "0,1", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"ce-loss: error: {message}\n"


def test_the_api_refuses_eps_for_a_formula_that_takes_logits() -> None:
    with pytest.raises(OptionError, match=r"eps clips probabilities, and cross_entropy takes logits"):
        cross_entropy([[0.2, 0.8]], [1], eps="auto")
    with pytest.raises(OptionError, match=r"eps must be in \[0, 0.5\), not 0.7"):
        cross_entropy([[0.2, 0.8]], [1], formula="naive", eps=0.7)


def test_compare_clips_only_the_formulas_that_take_probabilities(run: Run) -> None:
    args = ["compare", "-l", "0,0.25,0.75;0.5,0.5,0", "-t", "0,1", "-f", "json"]
    plain, clipped = json.loads(run(*args).stdout), json.loads(run(*args, "--eps", "auto").stdout)
    assert plain["formulas"]["naive"]["mean"] == "Infinity"
    assert_close(clipped["formulas"]["naive"]["mean"], (-math.log(2.0**-52) - math.log(0.5)) / 2, rtol=1e-15)
    assert clipped["formulas"]["cross_entropy"] == plain["formulas"]["cross_entropy"]


def test_help_says_which_formula_scores_predict_proba_output(run: Run) -> None:
    text = " ".join(run("compute", "--help").stdout.replace("│", " ").split())
    assert "naive (-log q, for probabilities such as predict_proba output)" in text
    every = " ".join(run("compute", "--help-all").stdout.replace("│", " ").split())  # --eps is there
    assert "sklearn.metrics.log_loss" in every


# Warnings never point at each other.

rounded_probabilities = st.builds(
    lambda z, d, zero: np.round(np.where(zero, 0.0, np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)), d),
    st.just(np.random.default_rng(0).standard_normal((6, 4)) * 3),
    st.integers(1, 8),
    st.just(np.zeros((6, 4), dtype=bool)) | st.just(np.eye(6, 4, dtype=bool)),
)
small_values = st.integers(0, 2**32 - 1).map(lambda s: np.round(np.random.default_rng(s).random((6, 4)), 2))
logits = st.integers(0, 2**32 - 1).map(lambda s: np.random.default_rng(s).standard_normal((6, 4)))


def _warnings(rows: np.ndarray, formula: str, eps: Any = None) -> list[DataWarning]:
    inputs = validate_inputs(rows, [0, 1, 2, 3, 0, 1])
    return list(build_report(inputs, REGISTRY[formula], eps=eps).warnings)


@settings(max_examples=80, deadline=None)
@given(st.one_of(rounded_probabilities, small_values, logits))
def test_warnings_never_point_at_each_other(rows: np.ndarray) -> None:
    fused, naive = _warnings(rows, "cross_entropy"), _warnings(rows, "naive")
    to_naive = [w for w in fused if isinstance(w, ProbabilitiesGivenAsLogits)]
    to_logits = [w for w in naive if isinstance(w, NotProbabilities)]
    assert not (to_naive and to_logits)
    if to_naive:  # the formula recommended, with the clipping recommended, has nothing left to say
        advised = _warnings(rows, "naive", eps="auto" if to_naive[0].zeros else None)
        assert not [w for w in advised if isinstance(w, NotProbabilities | ZeroProbabilities)]
    if to_logits:
        assert not to_naive
