"""Warnings about the data: sentences for stderr, never errors. Pure numpy.

The most common cross-entropy mistakes are feeding probabilities where logits
belong (softmax applied twice) and the reverse; none of the big libraries
warns about either. :func:`diagnose` does, from the :class:`~ce_cli.formulas.RowFacts`
counted while the losses were evaluated (so the data is read once), and also
counts samples whose logits are not finite and notes when every target is ignored.
"""

from __future__ import annotations

from ce_cli.formulas import Formula, RowFacts
from ce_cli.validate import Problem


def diagnose(facts: RowFacts, problem: Problem, formula: Formula | None) -> list[str]:
    """Sentences a user should read about the data; empty for ordinary input.

    Args:
        facts: counts gathered while evaluating ``problem``.
        problem: the validated input (for its number of samples and ignored targets).
        formula: the formula that ran; ``None`` (as ``compare`` passes) leaves
            out the warnings that concern one formula's kind of input.

    Every sentence about the kind of input contains the word "probabilities".
    """
    messages: list[str] = []
    samples = int(problem.rows.shape[0])
    if samples == 0:
        return messages
    if formula in ("cross_entropy", "log_softmax_nll") and facts.all_probability_like:
        messages.append(
            f"the logits look like probabilities (every row is in [0, 1] and sums to 1), but {formula} expects "
            "logits (raw scores) and applies softmax to them again; if these are probabilities, use --formula naive"
        )
    if formula == "naive" and facts.not_probability:
        messages.append(
            f"naive expects probabilities, but {facts.not_probability} of {samples} rows have values outside (0, 1] "
            "or do not sum to 1; for logits (raw scores) use --formula cross_entropy"
        )
    if facts.non_finite:
        messages.append(
            f"{facts.non_finite} of {samples} samples have NaN or infinite logits that make their loss NaN or "
            "infinite (computed as PyTorch does: NaN and +inf give NaN, a -inf target logit gives +inf)"
        )
    if not problem.valid.any():
        messages.append(
            f"every target is the ignore index {problem.ignore_index}: "
            "the mean is NaN (0/0) and the sum 0, as in PyTorch"
        )
    return messages
