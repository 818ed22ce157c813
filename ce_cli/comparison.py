"""Every registered formula on the same input, side by side. Pure numpy, no I/O.

The family's reference (``cross_entropy``, PyTorch's formula) is the yardstick:
each other formula gets its per-sample differences from it, their maximum and
a one-line verdict whose reason comes from the formula's registry entry.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ce_cli.array_types import Float64Array
from ce_cli.data_warnings import DataWarning
from ce_cli.formulas import REFERENCE, REGISTRY, FormulaSpec
from ce_cli.records import frozen

AGREEMENT = 1e-9


def abs_diff(a: Float64Array, b: Float64Array) -> Float64Array:
    """``|a - b|`` elementwise, 0 where both are the same non-finite value (NaN and NaN, inf and inf)."""
    with np.errstate(invalid="ignore"):
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        diff: Float64Array = np.where(same, 0.0, np.abs(a - b))
    return diff


def largest(diff: Float64Array) -> float:
    """The largest difference (NaN where one side alone is NaN); 0 for empty input."""
    return float(np.max(diff)) if diff.size else 0.0


def verdict(formula: FormulaSpec, difference: float, samples: int = 2) -> str:
    """One line saying how ``formula`` relates to the reference: ``difference`` is the largest over ``samples``."""
    if formula.name == REFERENCE:
        return formula.differs_because
    if difference == 0.0:
        return "agrees exactly"
    if difference <= AGREEMENT:
        return f"agrees to {difference:.0e}"
    if math.isnan(difference):
        return f"differs: NaN where {REFERENCE} is not; {formula.differs_because}"
    return f"differs by {'up to ' if samples > 1 else ''}{difference:.2g}: {formula.differs_because}"


@frozen
class Comparison:
    """Per-sample losses of every registered formula, in the inputs' sample shape.

    Attributes:
        inputs: the family's validated inputs.
        results: each formula's result as the family evaluates it (with ``target_class``), in registry order.
        differences: for each formula but the reference, ``|loss - reference loss|`` per sample.
        warnings: what a user should know about the data.
    """

    inputs: Any
    results: Mapping[str, Any]
    differences: dict[str, Float64Array]
    warnings: tuple[DataWarning, ...]

    @property
    def target_class(self) -> NDArray[Any]:
        """The target per sample: the class index (the argmax of probability targets), or the binary target."""
        target: NDArray[Any] = self.results[REFERENCE].target_class
        return target

    @property
    def max_abs_diff(self) -> dict[str, float]:
        """For each formula but the reference, its largest per-sample difference."""
        return {name: largest(diff) for name, diff in self.differences.items()}

    def verdicts(self) -> dict[str, str]:
        """A verdict line per formula, the reference included."""
        maxima = self.max_abs_diff
        return {name: verdict(REGISTRY[name], maxima.get(name, 0.0)) for name in self.results}


def compared_formulas() -> list[FormulaSpec]:
    """The formulas ``compare`` runs: every registered one of the reference's family, in registry order."""
    return [spec for spec in REGISTRY.values() if spec.family == REGISTRY[REFERENCE].family]


def share(progress: Callable[[int], None], number: int, count: int, rows: int) -> Callable[[int], None]:
    """Progress of the ``number``-th of ``count`` passes over ``rows`` rows, reported in rows of the whole."""

    def report(done: int) -> None:
        progress((number * rows + done) // count)

    return report
