"""The tail probabilities of the paired tests against scipy and statsmodels (recorded) and mpmath."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from typing import Any

import mpmath
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ce_cli.paired.special import EXACT_TRIALS, binomial_half_cdf, incomplete_beta, mcnemar_exact, student_t_two_sided
from tests.conftest import DATA, spelled

REFERENCE: dict[str, Any] = json.loads((DATA / "paired_reference_cases.json").read_text())


@pytest.mark.parametrize("case", REFERENCE["t_cases"], ids=lambda c: f"t={c['t']},df={c['df']}")
def test_two_sided_t_matches_scipy(case: dict[str, Any]) -> None:
    assert student_t_two_sided(case["t"], case["df"]) == pytest.approx(spelled(case["p"]), rel=1e-12, abs=1e-300)


@pytest.mark.parametrize(
    "case", REFERENCE["mcnemar_cases"], ids=lambda c: f"{c['only_new_right']}-{c['only_baseline_right']}"
)
def test_mcnemar_matches_statsmodels(case: dict[str, Any]) -> None:
    got = mcnemar_exact(case["only_new_right"], case["only_baseline_right"])
    assert got == pytest.approx(spelled(case["p"]), rel=1e-11, abs=1e-300)


def test_the_recorded_cases_reach_both_binomial_paths() -> None:
    totals = [c["only_new_right"] + c["only_baseline_right"] for c in REFERENCE["mcnemar_cases"]]
    assert min(totals) <= EXACT_TRIALS < max(totals)


@settings(max_examples=60, deadline=None)
@given(st.floats(-30.0, 30.0), st.sampled_from([1.0, 2.0, 3.0, 9.0, 29.0, 30.0, 31.0, 200.0]))
@example(t=-30.0, df=200.0)
@example(t=1e-3, df=1.0)
def test_two_sided_t_matches_mpmath(t: float, df: float) -> None:
    """Over the range where mpmath's own series converge; larger df are the recorded scipy cases."""
    mpmath.mp.dps = 40
    x = mpmath.mpf(df) / (df + mpmath.mpf(t) ** 2)
    exact = mpmath.betainc(mpmath.mpf(df) / 2, mpmath.mpf(1) / 2, 0, x, regularized=True)
    assert student_t_two_sided(t, df) == pytest.approx(float(exact), rel=1e-12, abs=1e-300)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 9000), st.data())
@example(m=8001, data=None)
def test_binomial_tail_is_the_exact_sum(m: int, data: Any) -> None:
    k = m // 2 if data is None else data.draw(st.integers(-1, m + 1))
    exact = 1.0 if k >= m else 0.0 if k < 0 else float(Fraction(sum(math.comb(m, i) for i in range(k + 1)), 2**m))
    assert binomial_half_cdf(k, m) == pytest.approx(exact, rel=1e-12, abs=1e-300)


@settings(max_examples=40, deadline=None)
@given(st.floats(0.5, 2000.0), st.floats(0.5, 2000.0), st.floats(0.0, 1.0))
@example(a=1500.0, b=20.0, x=0.987)  # both Stirling forms, near the mode
@example(a=1800.0, b=1700.0, x=0.51)
def test_incomplete_beta_matches_mpmath(a: float, b: float, x: float) -> None:
    """Where mpmath's hypergeometric series converge (a, b up to 2000); beyond, the exact binomial sums."""
    mpmath.mp.dps = 40
    exact = float(mpmath.betainc(a, b, 0, x, regularized=True))
    assert incomplete_beta(a, b, x) == pytest.approx(exact, rel=1e-9, abs=1e-15)


def test_edges() -> None:
    assert student_t_two_sided(math.inf, 3) == 0.0
    assert math.isnan(student_t_two_sided(math.nan, 3))
    assert math.isnan(student_t_two_sided(1.0, 0))
    assert student_t_two_sided(0.0, 3) == 1.0
    assert mcnemar_exact(0, 0) == 1.0  # no discordant pair: nothing to test
    assert mcnemar_exact(1, 0) == 1.0
    assert mcnemar_exact(0, 6) == pytest.approx(2 / 64)
    assert math.isnan(incomplete_beta(2.0, 3.0, 1.5))
