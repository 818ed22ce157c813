"""The evaluation summary beside the loss: distribution, denominator, per class, top-k, worst, per sequence.

Pure numpy, computed from what the evaluation pass already gave (the per-sample
losses, targets, predictions and, when top-k is asked for, the ranks), so no
figure reads the input again and each costs nothing unless asked for. Every
figure covers the counted samples (targets that are not the ignore index).

Definitions (``L_i`` the per-sample loss as the table shows it, weighted when
weights are given; ``d_i`` what sample ``i`` adds to the mean's denominator,
see :mod:`ce_cli.families.softmax.weighting`)::

    mean = sum_i L_i / sum_i d_i          (numerator / denominator)
    mean_bits = mean / ln 2               (perplexity = exp(mean) = 2 ** mean_bits)
    class c: mean_loss = sum_{t_i = c} L_i / count_c,  loss_share = sum_{t_i = c} L_i / sum_i L_i
    rank_i = 1 + #{j : x_ij > x_i,t_i};   top-k accuracy = #{rank_i <= k} / #counted
    sequence s: mean = sum_{i in s} L_i / sum_{i in s} d_i,  perplexity = exp(mean)
"""

from __future__ import annotations

import math

import numpy as np

from ce_cli.array_types import Float64Array, IndexArray
from ce_cli.families.softmax.report import Report, exp_or_inf
from ce_cli.records import frozen

QUANTILES = (("min", 0.0), ("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))
LN2 = math.log(2.0)
HISTOGRAM_RUN = 1 << 20  # values binned at a time


def counted_losses(report: Report) -> Float64Array:
    """The per-sample losses of the counted samples (not ignored), flat."""
    counted = report.inputs.counted
    flat: Float64Array = report.losses.per_sample.reshape(-1)
    return flat if counted.all() else flat[counted]  # no copy when every sample counts


def quantiles(values: Float64Array) -> dict[str, float]:
    """min, p50, p90, p99, max with numpy's default (linear) interpolation; NaN when there is no value.

    The arithmetic of ``np.quantile(values, q)`` step for step (its virtual index ``(n - 1) q`` and its
    two-sided lerp), so the same bits, without the ``np.unique`` inside it that imports ``numpy.ma``
    (8 ms of every run's start-up). ``tests/test_summary.py`` holds the two equal.
    """
    if values.size == 0:
        return {name: math.nan for name, _ in QUANTILES}
    n = values.size
    virtual = (n - 1) * np.array([q for _, q in QUANTILES])
    below = np.floor(virtual)
    above = np.where(virtual >= n - 1, -1.0, below + 1)
    below = np.where(virtual >= n - 1, -1.0, below)
    previous, following = below.astype(np.intp), above.astype(np.intp)
    arranged = np.array(values)  # one partitioned copy
    arranged.partition(sorted({0, n - 1, *(previous % n).tolist(), *(following % n).tolist()}))
    a, b = arranged[previous], arranged[following]
    gamma = virtual - previous
    with np.errstate(invalid="ignore", over="ignore"):  # as np.quantile: inf - inf is NaN, a huge span inf
        difference = b - a
        found = a + difference * gamma
        np.subtract(b, difference * (1 - gamma), out=found, where=gamma >= 0.5)
    if np.isnan(arranged[-1]):
        found[:] = math.nan
    return {name: float(v) for (name, _), v in zip(QUANTILES, found, strict=True)}


def mean_bits(mean: float) -> float:
    """A mean loss in nats, in bits (``mean / ln 2``): perplexity is ``2 ** mean_bits``."""
    return mean / LN2


def sample_denominators(report: Report) -> Float64Array:
    """``(N,)`` what each sample adds to the mean's denominator.

    Index targets: ``w[t]`` (1 without weights), 0 where ignored. Probability targets: 1.
    """
    inputs = report.inputs
    counted = inputs.counted
    if inputs.probability_targets:
        return np.ones(counted.shape, dtype=np.float64)
    if inputs.weight is None:
        return counted.astype(np.float64)
    targets = np.where(counted, report.losses.target_class.reshape(-1), 0)
    weights: Float64Array = np.where(counted, inputs.weight[targets], 0.0)
    return weights


@frozen
class ClassSummary:
    """One class among the counted targets: its count, mean loss, share of the total loss, accuracy."""

    cls: int
    count: int
    mean_loss: float
    loss_share: float
    accuracy: float


def by_class(report: Report) -> list[ClassSummary]:
    """Every class that occurs among the counted targets, by decreasing share of the total loss."""
    counted = report.inputs.counted
    targets: IndexArray = report.losses.target_class.reshape(-1)[counted]
    losses = report.losses.per_sample.reshape(-1)[counted]
    predicted = report.predicted.reshape(-1)[counted]
    classes, inverse, counts = np.unique(targets, return_inverse=True, return_counts=True)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        summed = np.bincount(inverse.reshape(-1), weights=losses, minlength=classes.size)
        right = np.bincount(inverse.reshape(-1), weights=predicted == targets, minlength=classes.size)
        total = float(np.sum(losses))
        shares = summed / total
    out = [
        ClassSummary(int(c), int(n), float(s) / int(n), float(share), float(r) / int(n))
        for c, n, s, share, r in zip(classes, counts, summed, shares, right, strict=True)
    ]
    return sorted(out, key=lambda c: (-np.nan_to_num(c.loss_share, nan=-np.inf), c.cls))


def worst(report: Report, count: int) -> list[int]:
    """The flat positions of the ``count`` highest-loss counted samples, by decreasing loss (NaN first).

    Ties keep the input's order.
    """
    positions = np.flatnonzero(report.inputs.counted)
    losses = report.losses.per_sample.reshape(-1)[positions]
    order = np.argsort(-np.nan_to_num(losses, nan=np.inf, posinf=np.inf), kind="stable")
    return [int(p) for p in positions[order[:count]]]


def top_k_accuracy(report: Report, ks: tuple[int, ...]) -> dict[str, float]:
    """Share of the counted samples whose target ranks at most K, for each K (NaN when none count)."""
    ranks = counted_ranks(report)
    return {str(k): (float(np.count_nonzero(ranks <= k)) / ranks.size if ranks.size else math.nan) for k in ks}


def counted_ranks(report: Report) -> IndexArray:
    """The ranks of the counted samples, flat; only for a report built with top-k asked for."""
    if report.losses.ranks is None:
        raise RuntimeError("ranks were not computed: build the report with request.top_k")
    ranks: IndexArray = report.losses.ranks.reshape(-1)[report.inputs.counted]
    return ranks


@frozen
class SequenceSummary:
    """One sequence (an index of the first sample axis): its mean loss, perplexity and counted tokens."""

    index: int
    mean_loss: float
    perplexity: float
    tokens: int
    denominator: float


def per_sequence(report: Report) -> list[SequenceSummary]:
    """Each sequence's pooled mean (its losses over its own denominator), perplexity and counted tokens.

    The samples must have a sequence axis (:func:`ce_cli.families.softmax.report.check_request`).
    """
    shape = report.inputs.sample_shape
    losses = report.losses.per_sample.reshape(shape[0], -1)
    counted = report.inputs.counted.reshape(shape[0], -1)
    denominators = sample_denominators(report).reshape(shape[0], -1)
    out = []
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        for index in range(shape[0]):
            mean = float(np.sum(losses[index]) / np.sum(denominators[index]))
            tokens = int(np.count_nonzero(counted[index]))
            out.append(SequenceSummary(index, mean, exp_or_inf(mean), tokens, float(np.sum(denominators[index]))))
    return out


def mean_of_perplexities(sequences: list[SequenceSummary]) -> float:
    """The plain mean of the per-sequence perplexities (over sequences with a counted token)."""
    values = [s.perplexity for s in sequences if s.tokens]
    return math.fsum(values) / len(values) if values else math.nan


def histogram(values: Float64Array, bins: int = 24) -> str:
    """A one-line histogram of the finite values in ``bins`` equal bins from their min to their max.

    Binned by hand, halving before subtracting, so that any finite range works (``np.histogram``
    refuses a range too small for its bins, and ``max - min`` can overflow).
    """
    finite = values if np.isfinite(values).all() else values[np.isfinite(values)]
    if finite.size == 0:
        return ""
    low, high = float(finite.min()), float(finite.max())
    half_span = high / 2 - low / 2
    counts = np.zeros(bins, dtype=np.int64)
    for start in range(0, finite.size, HISTOGRAM_RUN):  # in runs: bounded temporaries for any number of samples
        part = finite[start : start + HISTOGRAM_RUN]
        if half_span > 0.0:
            position = np.floor((part / 2 - low / 2) / half_span * bins).astype(np.intp)
        else:
            position = np.zeros(part.size, dtype=np.intp)
        counts += np.bincount(np.minimum(position, bins - 1), minlength=bins)
    levels = " ▁▂▃▄▅▆▇█"
    top = int(counts.max())
    return "".join(levels[math.ceil(int(c) * (len(levels) - 1) / top)] for c in counts)
