"""A bootstrap interval for the ECE: the same Poisson bootstrap as ``diff`` (:mod:`ce_cli.paired.bootstrap`).

Resample ``r`` gives sample ``i`` the weight ``c_ir ~ Poisson(1)`` (a function of the seed, the
sample's index and ``r`` alone), the bins stay as the whole sample made them, and since
``prop_k |acc_k - conf_k| = |sum_{i in k} (right_i - c_i)| / N``, each resample's ECE is
``sum_k |sum_{i in k} c_ir (right_i - c_i)| / sum_i c_ir``: two sums per bin, as ``diff``'s ratio.
The interval is the percentile one. The ECE is biased upwards (an absolute value of noisy sums), and
its resamples more so: on a well-calibrated model the interval can lie above the ECE itself.
"""

from __future__ import annotations

import math

import numpy as np

from ce_cli.array_types import IndexArray
from ce_cli.calibration.bins import Binning, bin_index
from ce_cli.calibration.sums import Confidences
from ce_cli.paired.bootstrap import SumsKernel, percentile_interval, resample_sums

LEVEL = 0.95


def ece_interval(
    samples: Confidences,
    edges: tuple[float, ...],
    binning: Binning,
    *,
    positions: IndexArray,
    resamples: int,
    seed: int,
    kernel: SumsKernel | None = None,
    threads: int = 1,
) -> tuple[float, float]:
    """The 95% percentile interval of the ECE over ``resamples`` Poisson resamples (NaN with fewer than
    two samples or resamples). ``positions``: each sample's index in the input, which fixes its weights."""
    if len(samples) < 2 or resamples < 2:
        return math.nan, math.nan
    index = bin_index(samples.confidence, np.asarray(edges), binning, samples.precision)
    residual = samples.right.astype(np.float64) - samples.confidence
    total_gap = np.zeros(resamples)
    total_count = np.zeros(resamples)
    for k in np.unique(index).tolist():
        chosen = index == k
        sums = resample_sums(
            residual[chosen],
            np.ones(int(np.count_nonzero(chosen))),
            positions[chosen].astype(np.int64),
            resamples=resamples,
            seed=seed,
            kernel=kernel,
            threads=threads,
        )
        total_gap += np.abs(sums.numerator)
        total_count += sums.denominator
    keep = total_count > 0
    return percentile_interval(total_gap[keep] / total_count[keep], LEVEL)
