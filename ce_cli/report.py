"""What a run found, ready to render: losses, reductions and per-sample facts.

Pure numpy, no I/O. :func:`build_report` evaluates a validated
:class:`~ce_cli.validate.Problem` and adds what a person checks beside the
loss: the predicted class, the probability given to the target, accuracy and
perplexity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ce_cli.diagnose import diagnose
from ce_cli.formulas import Formula, Reduction, evaluate, log_softmax
from ce_cli.validate import Problem


@dataclass(frozen=True)
class Report:
    """The result of one computation.

    Per-sample arrays have ``sample_shape`` (the logits' shape without the
    class axis).

    Attributes:
        formula, reduction: as chosen.
        logits_shape, sample_shape: shapes of the input and of ``losses``.
        losses: float64 per-sample losses (0 at ignored positions).
        mean, sum: the reductions; ``mean = sum / denominator``.
        denominator: what the mean divides by: ``sum(w[t])`` over counted
            samples for index targets, the number of samples for probabilities.
        soft: whether targets are probabilities.
        weighted: whether class weights were given.
        target_class: the target index (for probabilities, their argmax);
            ``ignore_index`` where ignored.
        predicted: the argmax of the logits.
        target_probability: the probability the formula gives the target
            class: ``softmax(x)[t]``, or ``q[t]`` for ``naive``; NaN if ignored.
        counted: mask of samples that are not ignored.
        warnings: sentences for the user about the data (never errors).
    """

    formula: Formula
    reduction: Reduction
    logits_shape: tuple[int, ...]
    sample_shape: tuple[int, ...]
    losses: NDArray[np.float64]
    mean: float
    sum: float
    denominator: float
    soft: bool
    weighted: bool
    target_class: NDArray[np.int64]
    predicted: NDArray[np.int64]
    target_probability: NDArray[np.float64]
    counted: NDArray[np.bool_]
    warnings: tuple[str, ...] = field(default=())

    @property
    def n_samples(self) -> int:
        """Number of per-sample losses (``prod(sample_shape)``)."""
        return int(self.losses.size)

    @property
    def n_ignored(self) -> int:
        """Samples whose target is the ignore index."""
        return int(self.counted.size - np.count_nonzero(self.counted))

    @property
    def value(self) -> float:
        """The headline number: ``mean`` or ``sum`` as ``reduction`` asks (``mean`` for ``none``)."""
        return self.sum if self.reduction == "sum" else self.mean

    @property
    def perplexity(self) -> float:
        """``exp(mean)``; infinite when the mean overflows it."""
        try:
            return math.exp(self.mean)
        except OverflowError:
            return math.inf

    @property
    def accuracy(self) -> float:
        """Share of counted samples whose predicted class is the target; NaN if none count."""
        counted = int(np.count_nonzero(self.counted))
        if counted == 0:
            return math.nan
        return float(np.count_nonzero((self.predicted == self.target_class) & self.counted)) / counted


def _target_probability(problem: Problem, formula: Formula, target_class: NDArray[np.int64]) -> NDArray[np.float64]:
    """``p[t]`` per row: the softmax probability, or the raw input for ``naive``."""
    rows = np.asarray(problem.rows, dtype=np.float64)
    safe = np.clip(target_class, 0, problem.num_classes - 1)
    if formula == "naive":
        picked: NDArray[np.float64] = np.take_along_axis(rows, safe[:, None], axis=1)[:, 0]
    else:
        with np.errstate(invalid="ignore", over="ignore"):
            picked = np.exp(np.take_along_axis(log_softmax(rows, axis=1), safe[:, None], axis=1)[:, 0])
    return picked


def build_report(problem: Problem, formula: Formula = "cross_entropy", reduction: Reduction = "mean") -> Report:
    """Evaluate ``problem`` under ``formula`` and gather what the renderers show."""
    result = evaluate(problem, formula)
    counted = problem.valid
    target_class: NDArray[np.int64] = (
        np.argmax(problem.targets, axis=1).astype(np.int64) if problem.soft else problem.targets.astype(np.int64)
    )
    predicted: NDArray[np.int64] = np.argmax(problem.rows, axis=1).astype(np.int64)
    probability = np.where(counted, _target_probability(problem, formula, target_class), np.nan)

    shape = problem.sample_shape

    def shaped(values: NDArray[Any]) -> NDArray[Any]:
        return values.reshape(shape)

    return Report(
        formula=formula,
        reduction=reduction,
        logits_shape=problem.logits_shape,
        sample_shape=shape,
        losses=result.losses,
        mean=result.mean,
        sum=result.sum,
        denominator=result.denominator,
        soft=problem.soft,
        weighted=problem.weight is not None,
        target_class=shaped(target_class),
        predicted=shaped(predicted),
        target_probability=shaped(probability),
        counted=shaped(counted),
        warnings=tuple(diagnose(problem, formula, result.losses)),
    )
