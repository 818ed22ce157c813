"""Two models on the same samples: the difference of their mean losses and where it comes from. Pure numpy.

For the counted samples ``i`` (weights ``w_i``, each model's per-sample loss ``l_i`` as ``compute``
gives it, weighted), ``d_i = l_new_i - l_baseline_i`` and

- ``delta = mean_new - mean_baseline``, each mean as ``compute`` reports it (the same denominator
  ``W = sum_i w_i`` for both, since it depends on the targets alone);
- ``delta_ci``: the percentile interval of ``sum_i c_i d_i / sum_i c_i w_i`` over Poisson-bootstrap
  resamples of the pairs (:mod:`ce_cli.paired.bootstrap`);
- ``delta_se``: the linearised (delta-method) standard error of that ratio,
  ``sqrt(n / (n - 1) * sum_i w_i^2 (d_i / w_i - delta)^2) / W`` (with ``d_i`` the weighted loss
  difference), which for unit weights is ``std(d, ddof=1) / sqrt(n)``, the standard error of
  ``scipy.stats.ttest_rel``; ``t = delta / delta_se`` with ``n - 1`` degrees of freedom gives ``t_p_value``;
- ``wins``, ``ties``, ``losses``: samples with ``d < 0``, ``d = 0``, ``d > 0`` (NEW better, equal, worse);
- ``mcnemar_p``: McNemar's exact test on the samples only one model gets right;
- ``top1_agreement``: the share of counted samples where both predict the same class.

Rules where the data leave a statistic undefined: with fewer than two counted samples there is no
standard error, t-test or interval (NaN); a sample whose loss is NaN or infinite makes delta, its
interval and the t-test NaN or infinite, as the means are; a resample whose weights miss every
counted sample has no mean and is left out of the percentiles.
"""

from __future__ import annotations

import math

import numpy as np

from ce_cli.array_types import Float64Array
from ce_cli.paired.bootstrap import SumsKernel, percentile_interval, resample_sums
from ce_cli.paired.defaults import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, DEFAULT_SEED
from ce_cli.paired.samples import PairedSamples
from ce_cli.paired.special import mcnemar_exact, student_t_two_sided
from ce_cli.records import frozen

BOOTSTRAP_METHOD = "poisson"


@frozen
class DiffRequest:
    """What ``diff`` is asked for beyond the headline: resamples, seed, confidence, per class, worst."""

    resamples: int = DEFAULT_RESAMPLES
    seed: int = DEFAULT_SEED
    confidence: float = DEFAULT_CONFIDENCE
    by_class: bool = False
    worst: int = 0


@frozen
class ClassDelta:
    """The difference over the counted samples of one target class (or label)."""

    group: int
    count: int
    mean_new: float
    mean_baseline: float

    @property
    def delta(self) -> float:
        return self.mean_new - self.mean_baseline


@frozen
class Regression:
    """One of the largest per-sample regressions: its flat position and both losses."""

    position: int
    loss_new: float
    loss_baseline: float

    @property
    def d(self) -> float:
        return self.loss_new - self.loss_baseline


@frozen
class KlSummary:
    """Per-sample ``KL(p_baseline || p_new)`` over the counted samples: mean, median, 99th percentile, max."""

    mean: float
    p50: float
    p99: float
    max: float


@frozen
class Difference:
    """The paired comparison of NEW against BASELINE (see the module docstring for each figure)."""

    new: PairedSamples
    baseline: PairedSamples
    request: DiffRequest
    n_samples: int
    delta: float
    delta_ci: tuple[float, float]
    delta_se: float
    t_statistic: float
    t_p_value: float
    wins: int
    ties: int
    losses: int
    accuracy_new: float
    accuracy_baseline: float
    mcnemar_p: float
    top1_agreement: float
    kl: KlSummary | None
    resamples_used: int
    predictions: bool = True
    by_class: tuple[ClassDelta, ...] = ()
    worst: tuple[Regression, ...] = ()

    def differences(self) -> Float64Array:
        """``d_i = loss_new_i - loss_baseline_i`` over the counted samples, in order."""
        counted = self.new.counted & self.baseline.counted
        d: Float64Array = self.new.losses[counted] - self.baseline.losses[counted]
        return d

    @property
    def perplexity_new(self) -> float:
        return _exp(self.new.mean)

    @property
    def perplexity_baseline(self) -> float:
        return _exp(self.baseline.mean)

    @property
    def perplexity_ratio(self) -> float:
        """``exp(delta)``: how many times NEW's perplexity is BASELINE's."""
        return _exp(self.delta)

    @property
    def perplexity_ratio_ci(self) -> tuple[float, float]:
        return _exp(self.delta_ci[0]), _exp(self.delta_ci[1])


def _exp(value: float) -> float:
    try:
        return math.exp(value)
    except OverflowError:
        return math.inf


def _standard_error(d: Float64Array, w: Float64Array, delta: float) -> float:
    """The linearised standard error of ``sum d / sum w`` (``std(d, ddof=1) / sqrt(n)`` for unit weights)."""
    n = len(d)
    total = float(np.sum(w))
    if n < 2 or not total > 0.0:
        return math.nan
    with np.errstate(invalid="ignore", over="ignore"):
        residual = d - w * delta
        return float(np.sqrt(n / (n - 1) * np.sum(residual * residual)) / total)


def _kl_summary(kl: Float64Array | None) -> KlSummary | None:
    if kl is None:
        return None
    if not len(kl):
        return KlSummary(math.nan, math.nan, math.nan, math.nan)
    p50, p99 = np.quantile(kl, [0.5, 0.99])
    return KlSummary(float(np.mean(kl)), float(p50), float(p99), float(np.max(kl)))


def _by_class(new: PairedSamples, baseline: PairedSamples, counted: np.ndarray) -> tuple[ClassDelta, ...]:
    groups = new.group[counted]
    if not len(groups):
        return ()
    keys, inverse = np.unique(groups, return_inverse=True)
    count = np.bincount(inverse)
    den = np.bincount(inverse, weights=new.denominator[counted])
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_new = np.bincount(inverse, weights=new.losses[counted]) / den
        mean_base = np.bincount(inverse, weights=baseline.losses[counted]) / den
    return tuple(
        ClassDelta(int(k), int(c), float(a), float(b))
        for k, c, a, b in zip(keys, count, mean_new, mean_base, strict=True)
    )


def _worst(
    new: PairedSamples, baseline: PairedSamples, d: Float64Array, positions: np.ndarray, k: int
) -> tuple[Regression, ...]:
    if k <= 0 or not len(d):
        return ()
    order = np.argsort(-np.where(np.isnan(d), -np.inf, d), kind="stable")[:k]  # largest first; ties: first sample
    return tuple(
        Regression(int(positions[i]), float(new.losses[positions[i]]), float(baseline.losses[positions[i]]))
        for i in order
    )


def paired_difference(
    new: PairedSamples,
    baseline: PairedSamples,
    request: DiffRequest = DiffRequest(),
    *,
    kl: Float64Array | None = None,
    kernel: SumsKernel | None = None,
    threads: int = 1,
) -> Difference:
    """Compare ``new`` with ``baseline`` on the same samples (checked by :func:`ce_cli.paired.samples.check_pairs`).

    ``kl``: the per-sample ``KL(p_baseline || p_new)`` of the counted samples (softmax family), or ``None``.
    """
    counted = new.counted & baseline.counted
    positions = np.flatnonzero(counted)
    d = new.losses[positions] - baseline.losses[positions]
    w = new.denominator[positions]
    n = len(positions)
    delta = new.mean - baseline.mean
    se = _standard_error(d, w, delta)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = delta / se if not math.isnan(se) else math.nan
        if se == 0.0:
            t = math.copysign(math.inf, delta) if delta != 0.0 else math.nan
    p = student_t_two_sided(t, n - 1) if n >= 2 else math.nan
    if n >= 2 and request.resamples >= 2:
        sums = resample_sums(
            d,
            w,
            positions.astype(np.int64),
            resamples=request.resamples,
            seed=request.seed,
            kernel=kernel,
            threads=threads,
        )
        ratios = sums.ratios
        interval = percentile_interval(ratios, request.confidence) if math.isfinite(delta) else (math.nan, math.nan)
        used = len(ratios)
    else:
        interval, used = (math.nan, math.nan), 0
    share = (lambda count: count / n) if n else (lambda count: math.nan)
    predictions = all(s.correct is not None and s.predicted is not None for s in (new, baseline))
    if predictions:
        assert new.correct is not None
        assert baseline.correct is not None
        assert new.predicted is not None
        assert baseline.predicted is not None
        right_new, right_base = new.correct[positions], baseline.correct[positions]
        only_new = int(np.count_nonzero(right_new & ~right_base))
        only_base = int(np.count_nonzero(~right_new & right_base))
        accuracy = (share(int(np.count_nonzero(right_new))), share(int(np.count_nonzero(right_base))))
        mcnemar = mcnemar_exact(only_new, only_base)
        agreement = share(int(np.count_nonzero(new.predicted[positions] == baseline.predicted[positions])))
    else:  # per-token log-probabilities: no prediction to be right or wrong
        accuracy, mcnemar, agreement = (math.nan, math.nan), math.nan, math.nan
    return Difference(
        new=new,
        baseline=baseline,
        request=request,
        n_samples=n,
        delta=delta,
        delta_ci=interval,
        delta_se=se,
        t_statistic=t,
        t_p_value=p,
        wins=int(np.count_nonzero(d < 0.0)),
        ties=int(np.count_nonzero(d == 0.0)),
        losses=int(np.count_nonzero(d > 0.0)),
        accuracy_new=accuracy[0],
        accuracy_baseline=accuracy[1],
        mcnemar_p=mcnemar,
        top1_agreement=agreement,
        predictions=predictions,
        kl=_kl_summary(kl),
        resamples_used=used,
        by_class=_by_class(new, baseline, counted) if request.by_class else (),
        worst=_worst(new, baseline, d, positions, request.worst),
    )
