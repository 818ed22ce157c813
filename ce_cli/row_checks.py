"""What the rows of logits showed while they were evaluated: probabilities or not, non-finite, zeros. Pure numpy.

:func:`check_rows` runs on every block as its losses are evaluated, so a
large file is read once; :mod:`ce_cli.data_warnings` turns the totals into
warnings.

A row is a probability row when its values lie in [0, 1] and sum to 1 within
what writing them down can have cost (:func:`sum_tolerance`): probabilities
exported with ``d`` decimals are each off by up to half a unit in the last
place, so ``C`` of them sum to 1 only within ``C * 10**-d / 2``; probabilities
stored at full precision sum to 1 within a few machine epsilons of their dtype
(float16 exports need about 1e-3, float64 ones 1e-15).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ce_cli.array_types import BoolArray, Float64Array
from ce_cli.records import frozen

ROW_SUM_TOLERANCE = 1e-6  # the least tolerance: below it nobody writes probabilities down
MAX_DECIMALS = 9  # values with more decimals than this are taken as full precision
MAX_TOLERANCE = 0.25  # rounding to few decimals over many classes never excuses more than this
SAMPLE_VALUES = 4096  # the values whose digits show how many decimals were written


@frozen
class RowChecks:
    """What the rows showed, added up over the blocks.

    Attributes:
        all_probability_like: every row is a probability row (see the module docstring).
        zero_probability: probability rows holding an exact 0.
        not_probability: rows that are not probability rows (counted only for
            formulas that take probabilities).
        non_finite: rows with a NaN or infinite value whose loss is NaN or infinite.
        infinite_from_zero: rows of finite values whose loss is infinite: ``log 0``
            at a probability the target needs.
    """

    all_probability_like: bool
    zero_probability: int
    not_probability: int
    non_finite: int
    infinite_from_zero: int

    def __add__(self, other: RowChecks) -> RowChecks:
        return RowChecks(
            self.all_probability_like and other.all_probability_like,
            self.zero_probability + other.zero_probability,
            self.not_probability + other.not_probability,
            self.non_finite + other.non_finite,
            self.infinite_from_zero + other.infinite_from_zero,
        )


NO_ROWS = RowChecks(True, 0, 0, 0, 0)


def decimals_written(values: Float64Array) -> int | None:
    """The fewest decimals (at least 1) that write each of ``values`` exactly; ``None`` past ``MAX_DECIMALS``."""
    with np.errstate(invalid="ignore", over="ignore"):  # inf and NaN are no decimals: they fail every test
        for decimals in range(1, MAX_DECIMALS + 1):
            scaled = values * 10.0**decimals
            if bool(np.all(np.abs(scaled - np.round(scaled)) <= 1e-6)):
                return decimals
    return None


def sum_tolerance(rows: Float64Array, dtype: np.dtype[Any]) -> float:
    """How far from 1 a ``(B, C)`` block's probability rows may sum, from how their values were written."""
    num_classes = rows.shape[1]
    decimals = decimals_written(rows.reshape(-1)[:SAMPLE_VALUES])
    if decimals is not None:
        rounding = num_classes * 0.5 * 10.0**-decimals
    else:
        eps = float(np.finfo(dtype).eps) if np.issubdtype(dtype, np.floating) else 0.0
        rounding = 8.0 * eps * float(np.sqrt(num_classes))
    return float(min(MAX_TOLERANCE, max(ROW_SUM_TOLERANCE, rounding)))


def probability_rows(x: NDArray[Any], maximum: Float64Array | None) -> tuple[BoolArray, BoolArray]:
    """``(is_probability, has_zero)`` per row of a ``(B, C)`` block whose row maxima are ``maximum``
    (``None``: taken from ``x``)."""
    rows = np.asarray(x, dtype=np.float64)
    maximum = rows.max(axis=1) if maximum is None else maximum
    low = rows.min(axis=1)
    sums = rows.sum(axis=1)
    within = np.abs(sums - 1.0) <= sum_tolerance(rows, x.dtype)
    is_probability: BoolArray = within & (low >= 0.0) & (maximum <= 1.0)
    return is_probability, is_probability & (low == 0.0)


def check_rows(
    x: NDArray[Any],
    maximum: Float64Array | None,
    losses: Float64Array,
    takes_probabilities: bool,
    summary: tuple[float, float, int] | None = None,
) -> RowChecks:
    """What a ``(B, C)`` block's rows show, reading no more of them than the answer needs.

    Ordinary logits have a row maximum outside [0, 1], which settles that not
    every row is a probability without a further pass; only blocks that could
    be all probabilities (or blocks of a formula that takes probabilities,
    which counts the rows that are not) have their rows summed. ``summary``:
    the smallest and largest row maximum (NaN if any is) and the count of
    non-finite losses, where the compiled kernel has counted them already;
    with it, ``maximum`` may be ``None`` (taken from ``x`` if it is needed).
    """
    with np.errstate(invalid="ignore", over="ignore"):
        if summary is not None:
            lowest, highest, bad_losses = summary
            maybe_all = len(x) == 0 or (lowest >= 0.0 and highest <= 1.0)  # NaN: False
        else:
            bad_losses = -1
            maximum = np.asarray(x, dtype=np.float64).max(axis=1) if maximum is None else maximum
            maybe_all = maximum.size == 0 or bool(np.min(maximum) >= 0.0 and np.max(maximum) <= 1.0)
        all_probability_like, zeros, not_probability = maybe_all, 0, 0
        if maybe_all or takes_probabilities:
            is_probability, has_zero = probability_rows(x, maximum)
            all_probability_like = maybe_all and bool(np.all(is_probability))
            zeros = int(np.count_nonzero(has_zero))
            if takes_probabilities:
                not_probability = int(np.count_nonzero(~is_probability))
        non_finite = infinite = 0
        bad = None if bad_losses == 0 else ~np.isfinite(losses)
        if bad is not None and bad.any():
            finite_rows = np.isfinite(np.asarray(x[bad])).all(axis=1)
            non_finite = int(np.count_nonzero(~finite_rows))
            infinite = int(np.count_nonzero(finite_rows & np.isinf(losses[bad])))
    return RowChecks(all_probability_like, zeros, not_probability, non_finite, infinite)
