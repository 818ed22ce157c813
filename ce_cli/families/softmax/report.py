"""What a ``compute`` run found, ready to render: the validated inputs, the losses, the warnings.

Pure numpy, no I/O. :func:`build_report` evaluates validated inputs in one
pass that also yields every per-sample column a renderer shows (the target,
the predicted class, the probability given to the target), so that no
renderer reads the input again.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ce_cli.array_types import BoolArray, Float64Array, IndexArray
from ce_cli.data_warnings import DataWarning, data_warnings
from ce_cli.errors import SummaryRequestError
from ce_cli.families.softmax.inputs import ValidatedInputs
from ce_cli.families.softmax.losses import Losses, Reduction, evaluate, evaluate_pair
from ce_cli.formulas import FormulaSpec, probability_clip
from ce_cli.records import frozen


def exp_or_inf(value: float) -> float:
    """``exp(value)``, infinite where it overflows (a perplexity; NaN stays NaN)."""
    try:
        return math.exp(value)
    except OverflowError:
        return math.inf


@frozen
class SummaryRequest:
    """The parts of the evaluation summary asked for beyond the default (see :mod:`ce_cli.families.softmax.summary`).

    Attributes:
        by_class: a row per class among the counted targets.
        top_k: the K of each top-k accuracy (empty: no ranks are computed).
        worst: how many of the highest-loss samples to list (0: none).
        per_sequence: a row per sequence (index of the first sample axis).
        predictions: each sample's predicted class, for the per-sample outputs that show it (tables,
            CSV) and ``by_class``; without it a run of many samples keeps one array less.
        row_stats: each row's maximum and log-sum-exp, kept where the compiled kernel makes them
            (``ce-loss diff`` computes its KL from them, with one exp per class instead of two).
    """

    by_class: bool = False
    top_k: tuple[int, ...] = ()
    worst: int = 0
    per_sequence: bool = False
    predictions: bool = True
    row_stats: bool = False


@frozen
class Report:
    """The result of one computation.

    Per-sample arrays have ``inputs.sample_shape`` (the logits' shape without
    the class axis).

    Attributes:
        inputs: the validated inputs.
        formula: the formula that ran.
        reduction: the headline value asked for.
        losses: the losses and what their evaluation saw (with the predicted class).
        clip: the probabilities were clipped into ``[clip, 1 - clip]`` (``None``: not clipped).
        warnings: what a user should know about the data (never errors).
        request: the summary figures asked for beyond the default.
    """

    inputs: ValidatedInputs
    formula: FormulaSpec
    reduction: Reduction
    losses: Losses
    clip: float | None
    warnings: tuple[DataWarning, ...]
    request: SummaryRequest = SummaryRequest()

    @property
    def target_probability(self) -> Float64Array:
        """The probability the formula gives the target class: ``softmax(x)[t]``, or ``q[t]`` for
        ``naive``; NaN if ignored. Made when asked for (a per-sample output), not for every run."""
        with np.errstate(over="ignore", invalid="ignore"):
            probability: Float64Array = np.where(self.counted, np.exp(self.losses.target_log_prob), np.nan)
        return probability

    @property
    def counted(self) -> BoolArray:
        """Mask of the samples that are not ignored, in the sample shape."""
        return self.inputs.counted.reshape(self.inputs.sample_shape)

    @property
    def predicted(self) -> IndexArray:
        """The class with the largest logit per sample (the first of a tie)."""
        assert self.losses.predicted is not None  # build_report asks for it where a writer shows it
        return self.losses.predicted

    @property
    def n_samples(self) -> int:
        """Number of per-sample losses (``prod(sample_shape)``)."""
        return self.inputs.num_samples

    @property
    def n_ignored(self) -> int:
        """Samples whose target is the ignore index."""
        return self.n_samples - int(np.count_nonzero(self.inputs.counted))

    @property
    def value(self) -> float:
        """The headline number: ``mean`` or ``sum`` as ``reduction`` asks (``mean`` for ``none``)."""
        return self.losses.headline(self.reduction)

    @property
    def perplexity(self) -> float:
        """``exp(mean)``; infinite when the mean overflows it."""
        return exp_or_inf(self.losses.mean)

    @property
    def accuracy(self) -> float:
        """Share of counted samples whose target has the largest logit (a tie counts); NaN if none count."""
        counted = self.inputs.counted
        number = int(np.count_nonzero(counted))
        if number == 0:
            return math.nan
        return float(np.count_nonzero(self.losses.target_is_max.reshape(-1) & counted)) / number


def check_request(request: SummaryRequest, inputs: ValidatedInputs) -> None:
    """Refuse a summary the inputs cannot give, before anything is evaluated.

    Raises:
        SummaryRequestError: a top-k K outside ``1..C``, or ``per_sequence`` without a sequence axis.
    """
    for k in request.top_k:
        if not 1 <= k <= inputs.num_classes:
            raise SummaryRequestError("top_k", k=k, classes=inputs.num_classes)
    if request.per_sequence and len(inputs.sample_shape) < 2:
        raise SummaryRequestError("per_sequence", shape=inputs.sample_shape)


def build_report(
    inputs: ValidatedInputs,
    formula: FormulaSpec,
    reduction: Reduction = "mean",
    *,
    eps: float | str | None = None,
    request: SummaryRequest = SummaryRequest(),
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Evaluate ``inputs`` under ``formula`` and gather what the renderers show.

    ``eps`` clips probabilities for a formula that takes them (:func:`ce_cli.formulas.probability_clip`).

    Raises:
        OptionError: ``request`` asks for what the inputs cannot give (:func:`check_request`).
    """
    check_request(request, inputs)
    clip = probability_clip(eps, formula, inputs.rows.dtype)
    ranks = bool(request.top_k)
    predictions = request.predictions or request.by_class
    losses = evaluate(
        inputs, formula, predictions=predictions, clip=clip, ranks=ranks, progress=progress, row_stats=request.row_stats
    )
    return _report(inputs, formula, reduction, losses, clip, request)


def _report(
    inputs: ValidatedInputs,
    formula: FormulaSpec,
    reduction: Reduction,
    losses: Losses,
    clip: float | None,
    request: SummaryRequest,
) -> Report:
    return Report(
        inputs=inputs,
        formula=formula,
        reduction=reduction,
        losses=losses,
        clip=clip,
        warnings=tuple(data_warnings(losses.checks, inputs, formula)),
        request=request,
    )


def build_report_pair(
    new: ValidatedInputs,
    baseline: ValidatedInputs,
    formula: FormulaSpec,
    reduction: Reduction = "mean",
    *,
    eps: float | str | None = None,
    request: SummaryRequest = SummaryRequest(),
    progress: Callable[[int], None] | None = None,
) -> tuple[Report, Report]:
    """:func:`build_report` of two models on the same samples (``ce-loss diff``), in one pass over both
    where the compiled kernel evaluates them (:func:`ce_cli.families.softmax.losses.evaluate_pair`), else
    one after the other; ``progress`` counts NEW's rows either way."""
    for inputs in (new, baseline):
        check_request(request, inputs)
    clips = [probability_clip(eps, formula, inputs.rows.dtype) for inputs in (new, baseline)]
    predictions = request.predictions or request.by_class
    pair = None if request.top_k else evaluate_pair(new, baseline, formula, predictions=predictions, progress=progress)
    if pair is not None:
        return (
            _report(new, formula, reduction, pair[0], clips[0], request),
            _report(baseline, formula, reduction, pair[1], clips[1], request),
        )
    from ce_cli.families.pairs import one_after_the_other

    def compute(inputs: ValidatedInputs, counted: Callable[[int], None] | None) -> Report:
        return build_report(inputs, formula, reduction, eps=eps, request=request, progress=counted)

    return one_after_the_other(compute, new, baseline, new.num_samples, progress)
