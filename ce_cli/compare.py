"""All three formulas on the same input, side by side. Pure numpy, no I/O.

``cross_entropy`` is the reference; each other formula gets its largest
per-sample difference from it and a one-line verdict.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ce_cli.diagnose import diagnose
from ce_cli.formulas import FORMULAS, Formula, Losses, evaluate
from ce_cli.validate import Problem

REFERENCE: Formula = "cross_entropy"
AGREEMENT = 1e-9
_WHY = {
    "naive": "naive takes the inputs as probabilities, not logits",
    "log_softmax_nll": "the two-step composition should agree to rounding; please report this input",
}


def abs_diff(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """``|a - b|`` elementwise, 0 where both are the same non-finite value (NaN and NaN, inf and inf)."""
    with np.errstate(invalid="ignore"):
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        diff: NDArray[np.float64] = np.where(same, 0.0, np.abs(a - b))
    return diff


def max_abs_diff(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    """The largest ``|a - b|`` (NaN where one side alone is NaN); 0 for empty input."""
    diff = abs_diff(a, b)
    return float(np.max(diff)) if diff.size else 0.0


def verdict(formula: Formula, difference: float) -> str:
    """One line saying how ``formula`` relates to cross_entropy."""
    if formula == REFERENCE:
        return "the reference (PyTorch's formula)"
    if difference == 0.0:
        return "agrees exactly"
    if difference <= AGREEMENT:
        return f"agrees to {difference:.0e}"
    if math.isnan(difference):
        return f"differs: NaN where cross_entropy is not; {_WHY[formula]}"
    return f"differs by up to {difference:.2g}: {_WHY[formula]}"


@dataclass(frozen=True)
class Comparison:
    """Per-sample losses of every formula, in the targets' sample shape.

    Attributes:
        results: each formula's :class:`~ce_cli.formulas.Losses`, in ``FORMULAS`` order.
        max_abs_diff: for each formula but ``cross_entropy``, its largest
            ``|loss - cross_entropy loss|`` over samples.
        target_class: the target index per sample (argmax for probabilities).
        soft: whether targets are probabilities.
        warnings: sentences about the data for stderr.
    """

    logits_shape: tuple[int, ...]
    sample_shape: tuple[int, ...]
    results: dict[Formula, Losses]
    max_abs_diff: dict[Formula, float]
    target_class: NDArray[np.int64]
    soft: bool
    warnings: tuple[str, ...]

    def verdicts(self) -> dict[Formula, str]:
        """A verdict line per formula."""
        return {f: verdict(f, self.max_abs_diff.get(f, 0.0)) for f in self.results}


def compare(problem: Problem, progress: Callable[[int], None] | None = None) -> Comparison:
    """Evaluate every formula on ``problem`` and measure each against cross_entropy.

    ``progress`` is called with the rows done over all formulas (``len(FORMULAS) * M`` in all).
    """
    rows = problem.rows.shape[0]
    results: dict[Formula, Losses] = {}
    for number, formula in enumerate(FORMULAS):
        done_before = number * rows
        report = None if progress is None else (lambda done, before=done_before: progress(before + done))
        results[formula] = evaluate(problem, formula, progress=report)
    reference = results[REFERENCE].losses
    differences = {f: max_abs_diff(r.losses, reference) for f, r in results.items() if f != REFERENCE}
    return Comparison(
        logits_shape=problem.logits_shape,
        sample_shape=problem.sample_shape,
        results=results,
        max_abs_diff=differences,
        target_class=results[REFERENCE].target_class.astype(np.int64),
        soft=problem.soft,
        warnings=tuple(diagnose(results[REFERENCE].facts, problem, None)),
    )
