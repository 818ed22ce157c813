"""The Poisson bootstrap of a ratio of sums over paired samples. Pure numpy (plus the compiled kernel).

A resample gives sample ``i`` the weight ``c_ib ~ Poisson(1)`` (both models' values of a sample
share it: the pairs are resampled, not the models apart), and its statistic is the ratio
``sum_i c_ib a_i / sum_i c_ib w_i`` recomputed from the sums. This is the Poisson bootstrap
(Hanley & MacGibbon 2006; Chamandy et al. 2012, "Estimating uncertainty for massive data
streams"): for large ``N`` it matches the multinomial one, and it reads the samples in order,
so that it runs as one vectorised pass with no random gathers, and its sums merge over blocks.

The weights are a function of ``(seed, sample index, resample)`` alone, so they do not depend
on how the samples are split into blocks or threads:

- each sample's key is ``splitmix64(splitmix64(index) ^ splitmix64(seed))``, split into its
  32-bit halves ``lo`` and ``hi``;
- resamples ``2j`` and ``2j + 1`` share one draw ``u = mix32((lo + j * 0x9E3779B9) ^ hi)`` (Wellons'
  ``lowbias32`` finaliser), a uniform 32-bit integer: its low 16 bits are resample ``2j``'s and its
  high 16 bits resample ``2j + 1``'s, so that one hash gives two weights;
- the weight is the number of :data:`POISSON_THRESHOLDS` that those 16 bits ``v`` reach, the thresholds
  being ``round(2^16 P(X <= k - 1))`` for ``X ~ Poisson(1)``: ``P(c >= k) = P(X >= k)`` to within
  2^-17 for every ``k``, and 8 the largest weight (``P(X > 8)`` is 1.1e-6). The mean and variance of the
  weights are 1 to within 1e-4, far inside the bootstrap's own error.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from ce_cli.array_types import Float64Array
from ce_cli.records import frozen

# round(2^16 P(X <= k - 1)) for X ~ Poisson(1), k = 1..8, those below 2^16 (tests/test_paired_bootstrap.py
# recomputes them with mpmath).
POISSON_THRESHOLDS = np.array([24109, 48219, 60273, 64292, 65296, 65497, 65531, 65535], dtype=np.uint32)
GOLDEN32 = 0x9E3779B9
_MASK64 = (1 << 64) - 1
BLOCK_SAMPLES = 2048  # samples per numpy block: (BLOCK_SAMPLES, B) uint32 draws at a time

U32 = NDArray[np.uint32]
U64 = NDArray[np.uint64]


def splitmix64(x: U64) -> U64:
    """Steele, Lea and Flood's splitmix64 finaliser of ``x + 0x9E3779B97F4A7C15``, elementwise (wrapping)."""
    z = x + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def mix32(x: U32) -> U32:
    """Wellons' ``lowbias32`` finaliser, elementwise (wrapping)."""
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x7FEB352D)
    x = x ^ (x >> np.uint32(15))
    x = x * np.uint32(0x846CA68B)
    return x ^ (x >> np.uint32(16))


def sample_keys(seed: int, indices: NDArray[np.int64]) -> tuple[U32, U32]:
    """The ``(lo, hi)`` halves of each sample's key for ``seed`` (any integer, taken modulo 2^64)."""
    seed_key = splitmix64(np.array([seed & _MASK64], dtype=np.uint64))
    with np.errstate(over="ignore"):
        keys = splitmix64(splitmix64(indices.astype(np.uint64)) ^ seed_key)
    return (keys & np.uint64(0xFFFFFFFF)).astype(np.uint32), (keys >> np.uint64(32)).astype(np.uint32)


def poisson_weights(lo: U32, hi: U32, first: int, count: int) -> NDArray[np.uint8]:
    """``(n, count)`` weights of resamples ``first .. first + count - 1`` for the samples of keys ``lo, hi``."""
    resample = np.arange(first, first + count, dtype=np.uint64)
    steps = (((resample >> np.uint64(1)) * np.uint64(GOLDEN32)) & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    shifts = ((resample & np.uint64(1)) * np.uint64(16)).astype(np.uint32)  # odd resamples: the high 16 bits
    u = mix32((lo[:, None] + steps[None, :]) ^ hi[:, None])
    v = (u >> shifts[None, :]) & np.uint32(0xFFFF)
    weights = np.zeros(u.shape, dtype=np.uint8)
    for threshold in POISSON_THRESHOLDS:
        weights += v >= threshold
    return weights


@frozen
class ResampledSums:
    """Per resample ``b``: ``numerator[b] = sum_i c_ib a_i`` and ``denominator[b] = sum_i c_ib w_i``."""

    numerator: Float64Array
    denominator: Float64Array

    @property
    def ratios(self) -> Float64Array:
        """``numerator / denominator`` of the resamples whose denominator is positive (the others have no mean)."""
        keep = self.denominator > 0.0
        ratios: Float64Array = self.numerator[keep] / self.denominator[keep]
        return ratios


SumsKernel = Callable[[U32, U32, Float64Array, Float64Array, int, Float64Array, Float64Array], None]


def numpy_sums(
    lo: U32, hi: U32, a: Float64Array, w: Float64Array, first: int, num: Float64Array, den: Float64Array
) -> None:
    """Add resamples ``first .. first + len(num) - 1``'s sums of ``a`` and ``w`` into ``num`` and ``den``."""
    for start in range(0, len(a), BLOCK_SAMPLES):
        part = slice(start, start + BLOCK_SAMPLES)
        weights = poisson_weights(lo[part], hi[part], first, len(num)).astype(np.float64)
        # summed down the samples axis, one resample per column: each column's order of additions is the
        # samples' order whatever the number of columns (a matrix product's is not), so that the sums do not
        # depend on how the resamples are split between threads
        num += np.sum(weights * a[part, None], axis=0)
        den += np.sum(weights * w[part, None], axis=0)


def resample_sums(
    a: Float64Array,
    w: Float64Array,
    indices: NDArray[np.int64],
    *,
    resamples: int,
    seed: int,
    kernel: SumsKernel | None = None,
    threads: int = 1,
) -> ResampledSums:
    """The Poisson bootstrap's sums of ``a`` and ``w`` (``(n,)`` float64) for ``resamples`` resamples.

    ``indices``: each value's sample index, which (with ``seed``) fixes its weights. The resamples
    are split between ``threads`` workers, each of which owns its resamples' sums, so the result
    does not depend on the number of threads.
    """
    lo, hi = sample_keys(seed, indices)
    run = numpy_sums if kernel is None else kernel
    num, den = np.zeros(resamples), np.zeros(resamples)
    a64, w64 = np.ascontiguousarray(a, dtype=np.float64), np.ascontiguousarray(w, dtype=np.float64)
    bounds = np.linspace(0, resamples, max(1, min(threads, resamples)) + 1).astype(int)
    parts = [(int(start), int(stop)) for start, stop in itertools.pairwise(bounds) if stop > start]

    def one(part: tuple[int, int]) -> None:
        start, stop = part
        run(lo, hi, a64, w64, start, num[start:stop], den[start:stop])

    if len(parts) > 1:
        from ce_cli.blocks import worker_pool

        list(worker_pool(len(parts)).map(one, parts))
    else:
        for part in parts:
            one(part)
    return ResampledSums(num, den)


def percentile_interval(ratios: Float64Array, confidence: float) -> tuple[float, float]:
    """The percentile interval: the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles of
    ``ratios`` (numpy's default, linear interpolation); NaN where there are fewer than two resamples
    or a resample is not finite."""
    if len(ratios) < 2 or not np.all(np.isfinite(ratios)):
        return float("nan"), float("nan")
    low, high = np.quantile(ratios, [(1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0])
    return float(low), float(high)
