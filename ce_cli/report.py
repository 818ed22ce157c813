"""What a run found, ready to render: losses, reductions and per-sample facts.

Pure numpy, no I/O. :func:`build_report` evaluates a validated
:class:`~ce_cli.validate.Problem` and adds what a person checks beside the
loss: the predicted class, the probability given to the target, accuracy and
perplexity.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ce_cli.diagnose import diagnose
from ce_cli.formulas import Formula, Reduction, evaluate
from ce_cli.kernel import rows_per_chunk
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
        target_is_max: whether each target's logit is its row's maximum.
        rows: the ``(M, C)`` logits, for :meth:`predicted`.
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
    target_is_max: NDArray[np.bool_]
    rows: NDArray[Any]
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
        """Share of counted samples whose target has the largest logit (a tie counts); NaN if none count."""
        counted = int(np.count_nonzero(self.counted))
        if counted == 0:
            return math.nan
        return float(np.count_nonzero(self.target_is_max & self.counted)) / counted

    def predicted(self, positions: NDArray[np.intp] | None = None) -> NDArray[np.int64]:
        """The argmax class of the logits at flat ``positions`` (all samples if ``None``), read in blocks."""
        if positions is None:
            positions = np.arange(self.rows.shape[0])
        out = np.empty(len(positions), dtype=np.int64)
        step = rows_per_chunk(self.rows.shape[1])
        for start in range(0, len(positions), step):
            out[start : start + step] = np.argmax(self.rows[positions[start : start + step]], axis=1)
        return out


def build_report(
    problem: Problem,
    formula: Formula = "cross_entropy",
    reduction: Reduction = "mean",
    *,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Evaluate ``problem`` under ``formula`` and gather what the renderers show."""
    result = evaluate(problem, formula, progress=progress)
    shape = problem.sample_shape
    counted = problem.valid.reshape(shape)
    with np.errstate(over="ignore", invalid="ignore"):
        probability = np.where(counted, np.exp(result.target_log_prob), np.nan)
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
        target_class=result.target_class.astype(np.int64),
        target_is_max=result.target_is_max,
        rows=problem.rows,
        target_probability=probability,
        counted=counted,
        warnings=tuple(diagnose(result.facts, problem, formula)),
    )
