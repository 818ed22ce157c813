"""Warnings about the data: sentences for stderr, never errors. Pure numpy.

The most common cross-entropy mistakes are feeding probabilities where logits
belong (softmax applied twice) and the reverse; none of the big libraries
warns about either. :func:`diagnose` does, and also counts samples whose
logits are not finite and notes when every target is ignored.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ce_cli.formulas import Formula
from ce_cli.validate import Problem

ROW_SUM_TOLERANCE = 1e-6
_CHUNK_ROWS = 65536


def _row_facts(rows: NDArray[np.floating[Any]]) -> tuple[int, int, NDArray[np.bool_]]:
    """``(rows that look like probabilities, rows with values outside (0, 1] or not summing to 1,
    (M,) mask of rows with a NaN or infinite value)``, read in chunks."""
    probability_like = not_probability = 0
    non_finite = np.zeros(rows.shape[0], dtype=bool)
    for start in range(0, rows.shape[0], _CHUNK_ROWS):
        block = np.asarray(rows[start : start + _CHUNK_ROWS], dtype=np.float64)
        finite = np.isfinite(block).all(axis=1)
        with np.errstate(invalid="ignore", over="ignore"):  # inf + -inf in a row is data, not an error
            sums_to_one = np.abs(block.sum(axis=1) - 1.0) <= ROW_SUM_TOLERANCE
        in_unit = ((block >= 0.0) & (block <= 1.0)).all(axis=1)
        in_open_unit = ((block > 0.0) & (block <= 1.0)).all(axis=1)
        probability_like += int(np.count_nonzero(finite & in_unit & sums_to_one))
        not_probability += int(np.count_nonzero(~(finite & in_open_unit & sums_to_one)))
        non_finite[start : start + _CHUNK_ROWS] = ~finite
    return probability_like, not_probability, non_finite


def diagnose(problem: Problem, formula: Formula | None, losses: NDArray[np.float64]) -> list[str]:
    """Sentences about ``problem`` that a user should read; empty for ordinary input.

    Args:
        problem: validated input; its ``rows`` are ``(M, C)``.
        formula: the formula that ran; ``None`` (as ``compare`` passes)
            leaves out the warnings that concern one formula's kind of input.
        losses: the per-sample losses (any shape with ``M`` elements); a
            sample counts as affected by non-finite logits only where its
            loss is NaN or infinite (a ``-inf`` logit of a class that is not
            the target is ordinary masking).

    Every sentence about the kind of input contains the word "probabilities".
    """
    messages: list[str] = []
    samples = int(problem.rows.shape[0])
    if samples == 0:
        return messages
    probability_like, not_probability, non_finite = _row_facts(problem.rows)
    if formula in ("cross_entropy", "log_softmax_nll") and probability_like == samples:
        messages.append(
            f"the logits look like probabilities (every row is in [0, 1] and sums to 1), but {formula} expects "
            "logits (raw scores) and applies softmax to them again; if these are probabilities, use --formula naive"
        )
    if formula == "naive" and not_probability:
        messages.append(
            f"naive expects probabilities, but {not_probability} of {samples} rows have values outside (0, 1] "
            "or do not sum to 1; for logits (raw scores) use --formula cross_entropy"
        )
    affected = int(np.count_nonzero(non_finite & ~np.isfinite(losses.reshape(-1))))
    if affected:
        messages.append(
            f"{affected} of {samples} samples have NaN or infinite logits that make their loss NaN or infinite "
            "(computed as PyTorch does: NaN and +inf give NaN, a -inf target logit gives +inf)"
        )
    counted = problem.valid
    if not counted.any():
        messages.append(
            f"every target is the ignore index {problem.ignore_index}: "
            "the mean is NaN (0/0) and the sum 0, as in PyTorch"
        )
    return messages
