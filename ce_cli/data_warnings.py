"""Warnings about the data: what the rows showed while they were evaluated. Pure numpy.

The most common cross-entropy mistakes are feeding probabilities where logits
belong (softmax applied twice) and the reverse; none of the big libraries
warns about either. :func:`check_rows` gathers the facts block by block while
the losses are evaluated (so the data is read once), and :func:`data_warnings`
turns them into warnings: plain facts, never errors, that the command line
words for its user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ce_cli.array_types import Float64Array
from ce_cli.formulas import REGISTRY, Expects, FormulaSpec
from ce_cli.validate import ValidatedInputs

ROW_SUM_TOLERANCE = 1e-6


@dataclass(frozen=True)
class RowChecks:
    """What the rows showed while they were evaluated.

    Attributes:
        all_probability_like: every row lies in [0, 1] and sums to 1 (within
            ``ROW_SUM_TOLERANCE``), as probabilities do.
        not_probability: rows with a value outside (0, 1], or not summing to 1
            (counted only for formulas that expect probabilities).
        non_finite: rows with a NaN or infinite logit whose loss is NaN or infinite.
    """

    all_probability_like: bool
    not_probability: int
    non_finite: int

    def __add__(self, other: RowChecks) -> RowChecks:
        return RowChecks(
            self.all_probability_like and other.all_probability_like,
            self.not_probability + other.not_probability,
            self.non_finite + other.non_finite,
        )


NO_ROWS = RowChecks(all_probability_like=True, not_probability=0, non_finite=0)


def check_rows(x: NDArray[Any], maximum: Float64Array, losses: Float64Array, expects: Expects) -> RowChecks:
    """What a ``(B, C)`` block's rows show, reading no more of them than the answer needs.

    Ordinary logits have a row maximum outside [0, 1], which settles that not
    every row is a probability without a further pass; only blocks that could
    be all probabilities (or blocks of a formula that expects probabilities,
    which counts the rows that are not) have their rows summed.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        maybe_all = bool(np.all((maximum >= 0.0) & (maximum <= 1.0)))
        all_probability_like = maybe_all
        not_probability = 0
        if maybe_all or expects == "probabilities":
            rows = np.asarray(x, dtype=np.float64)
            sums_to_one = np.abs(rows.sum(axis=1) - 1.0) <= ROW_SUM_TOLERANCE
            low = rows.min(axis=1)
            all_probability_like = maybe_all and bool(np.all(sums_to_one & (low >= 0.0)))
            if expects == "probabilities":
                not_probability = int(np.count_nonzero(~(sums_to_one & (low > 0.0) & (maximum <= 1.0))))
        bad = ~np.isfinite(losses)
        non_finite = int(np.count_nonzero(~np.isfinite(np.asarray(x[bad])).all(axis=1))) if bad.any() else 0
    return RowChecks(all_probability_like, not_probability, non_finite)


@dataclass(frozen=True)
class ProbabilitiesGivenAsLogits:
    """Every row is in [0, 1] and sums to 1, but ``formula`` expects logits and applies softmax again.

    ``instead`` is the formula that takes its inputs as probabilities.
    """

    formula: str
    instead: str


@dataclass(frozen=True)
class NotProbabilities:
    """``rows`` of ``samples`` rows are not probabilities, which ``formula`` expects; ``instead`` takes logits."""

    formula: str
    rows: int
    samples: int
    instead: str


@dataclass(frozen=True)
class NonFiniteLogits:
    """``affected`` of ``samples`` samples have NaN or infinite logits that make their loss NaN or infinite."""

    affected: int
    samples: int


@dataclass(frozen=True)
class EveryTargetIgnored:
    """Every target is ``ignore_index``: the mean is NaN (0/0) and the sum 0, as in PyTorch."""

    ignore_index: int


DataWarning = ProbabilitiesGivenAsLogits | NotProbabilities | NonFiniteLogits | EveryTargetIgnored


def _first_expecting(expects: Expects, family: str) -> str:
    """The first registered formula of ``family`` that takes its inputs as ``expects``."""
    return next(s.name for s in REGISTRY.values() if s.expects == expects and s.family == family)


def data_warnings(checks: RowChecks, inputs: ValidatedInputs, formula: FormulaSpec | None) -> list[DataWarning]:
    """What a user should know about the data; empty for ordinary input.

    Args:
        checks: what the rows showed while ``inputs`` were evaluated.
        inputs: the validated input (for its number of samples and ignored targets).
        formula: the formula that ran; ``None`` (as ``compare`` passes) leaves
            out the warnings that concern one formula's kind of input.
    """
    found: list[DataWarning] = []
    samples = inputs.num_samples
    if samples == 0:
        return found
    if formula is not None and formula.expects == "logits" and checks.all_probability_like:
        found.append(ProbabilitiesGivenAsLogits(formula.name, _first_expecting("probabilities", formula.family)))
    if formula is not None and formula.expects == "probabilities" and checks.not_probability:
        instead = _first_expecting("logits", formula.family)
        found.append(NotProbabilities(formula.name, checks.not_probability, samples, instead))
    if checks.non_finite:
        found.append(NonFiniteLogits(checks.non_finite, samples))
    if not inputs.counted.any():
        found.append(EveryTargetIgnored(inputs.ignore_index))
    return found
