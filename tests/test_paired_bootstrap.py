"""The Poisson bootstrap: its weights, their independence of blocks, threads and kernels, and its coverage."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

import ce_cli.native as native
from ce_cli.paired.bootstrap import (
    POISSON_THRESHOLDS,
    percentile_interval,
    poisson_weights,
    resample_sums,
    sample_keys,
)
from ce_cli.paired.native import sums_kernel

VARIANTS = native.runnable_variants()


def test_thresholds_are_the_poisson_cdf_in_16_bits() -> None:
    mpmath.mp.dps = 50
    cdf, expected = mpmath.mpf(0), []
    for k in range(20):
        cdf += mpmath.exp(-1) / mpmath.factorial(k)
        if int(mpmath.nint(cdf * 2**16)) < 2**16:
            expected.append(int(mpmath.nint(cdf * 2**16)))
    assert POISSON_THRESHOLDS.tolist() == expected  # every threshold below 2^16, and no other


def test_each_draw_gives_two_resamples_their_weights() -> None:
    """Resamples 2j and 2j + 1 read the low and the high 16 bits of one hash, the same whatever the split."""
    lo, hi = sample_keys(3, np.arange(50, dtype=np.int64))
    whole = poisson_weights(lo, hi, 0, 40)
    for first, count in ((1, 5), (7, 1), (8, 1), (13, 20), (0, 39)):
        np.testing.assert_array_equal(poisson_weights(lo, hi, first, count), whole[:, first : first + count])


def test_weights_follow_poisson_one() -> None:
    lo, hi = sample_keys(7, np.arange(4000, dtype=np.int64))
    weights = poisson_weights(lo, hi, 0, 250).reshape(-1)  # a million draws
    n = weights.size
    for k in range(5):
        expected = math.exp(-1) / math.factorial(k)
        observed = np.count_nonzero(weights == k) / n
        assert abs(observed - expected) < 5 * math.sqrt(expected * (1 - expected) / n), k
    assert weights.max() <= 8
    assert abs(weights.mean() - 1.0) < 5 * math.sqrt(1.0 / n)
    # neighbouring samples and resamples are uncorrelated
    grid = poisson_weights(lo, hi, 0, 250).astype(np.float64)
    assert abs(np.corrcoef(grid[:-1].reshape(-1), grid[1:].reshape(-1))[0, 1]) < 0.01
    assert abs(np.corrcoef(grid[:, :-1].reshape(-1), grid[:, 1:].reshape(-1))[0, 1]) < 0.01


def _data(n: int = 3000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    return rng.standard_normal(n), rng.choice([0.5, 1.0, 2.0], n), np.arange(n, dtype=np.int64) * 3


def test_sums_do_not_depend_on_blocks_or_threads() -> None:
    a, w, index = _data()
    whole = resample_sums(a, w, index, resamples=300, seed=5)
    threaded = resample_sums(a, w, index, resamples=300, seed=5, threads=3)
    np.testing.assert_array_equal(whole.denominator, threaded.denominator)
    np.testing.assert_array_equal(whole.numerator, threaded.numerator)
    halves = [
        resample_sums(a[part], w[part], index[part], resamples=300, seed=5)
        for part in (slice(0, 1234), slice(1234, None))
    ]
    np.testing.assert_array_equal(halves[0].denominator + halves[1].denominator, whole.denominator)
    np.testing.assert_allclose(halves[0].numerator + halves[1].numerator, whole.numerator, rtol=1e-12, atol=1e-10)


def test_the_seed_fixes_the_resamples() -> None:
    a, w, index = _data(500)
    first = resample_sums(a, w, index, resamples=200, seed=1)
    again = resample_sums(a, w, index, resamples=200, seed=1)
    other = resample_sums(a, w, index, resamples=200, seed=2)
    np.testing.assert_array_equal(first.numerator, again.numerator)
    assert not np.array_equal(first.denominator, other.denominator)


@pytest.mark.skipif(not VARIANTS, reason="no compiled kernel in this install")
@pytest.mark.parametrize("variant", VARIANTS)
def test_the_compiled_sums_draw_the_same_weights(variant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(native.ENVIRONMENT, f"native-{variant}")
    kernel = sums_kernel()
    assert kernel is not None
    a, w, index = _data()
    for resamples, threads in ((257, 2), (257, 3), (1, 1), (2, 1), (10, 4)):  # odd splits: pairs cut in two
        ours = resample_sums(a, w, index, resamples=resamples, seed=9, kernel=kernel, threads=threads)
        reference = resample_sums(a, w, index, resamples=resamples, seed=9)
        np.testing.assert_array_equal(ours.denominator, reference.denominator)  # the same integer weights
        np.testing.assert_allclose(ours.numerator, reference.numerator, rtol=1e-12, atol=1e-11)


def test_without_a_compiled_kernel_numpy_sums(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(native.ENVIRONMENT, "numpy")
    assert sums_kernel() is None


@pytest.mark.parametrize("weighted", [False, True])
def test_percentile_intervals_cover_the_true_ratio(weighted: bool) -> None:
    """About 95% of the intervals from synthetic pairs with a known difference contain it."""
    rng = np.random.default_rng(2024 + weighted)
    trials, n, truth = 300, 120, 0.2
    kernel = sums_kernel()
    covered = 0
    for trial in range(trials):
        w = rng.choice([0.5, 2.0], n) if weighted else np.ones(n)
        d = w * (truth + rng.standard_normal(n))
        sums = resample_sums(d, w, np.arange(n, dtype=np.int64), resamples=400, seed=trial, kernel=kernel)
        low, high = percentile_interval(sums.ratios, 0.95)
        covered += low <= truth <= high
    # binomial error of 300 trials at 0.95 is 1.3%; the percentile interval runs a little short at n = 120
    assert 0.90 <= covered / trials <= 0.985, covered / trials


def test_interval_edges() -> None:
    assert all(math.isnan(v) for v in percentile_interval(np.array([1.0]), 0.95))
    assert all(math.isnan(v) for v in percentile_interval(np.array([1.0, np.inf]), 0.95))
    low, high = percentile_interval(np.arange(101.0), 0.9)
    assert (low, high) == pytest.approx((5.0, 95.0), abs=1e-12)
