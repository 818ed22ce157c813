"""Cross-entropy formulas in pure numpy: no I/O, no printing, no Typer or Rich.

Notation: ``x`` is one row of logits over ``C`` classes, ``t`` its target,
``w`` the class weights (all ones when none are given), ``E`` the label
smoothing, and ``m = max_j x_j``. Every formula computes in float64 whatever
the input dtype.

- ``cross_entropy``: the fused, stable form PyTorch computes,
  ``loss = logsumexp(x) - x[t]`` with ``logsumexp(x) = m + log sum_j exp(x_j - m)``.
  It never builds softmax nor the full log-softmax row.
- ``log_softmax_nll``: the two-step composition PyTorch documents, building
  ``log_softmax(x) = (x - m) - log sum_j exp(x_j - m)`` for every class, then
  the negative log-likelihood pick ``-log_softmax(x)[t]``.
- ``naive``: the textbook ``H(p, q) = -sum_c p_c log q_c`` applied to the raw
  inputs taken as probabilities ``q`` (``-log q[t]`` for one-hot ``p``).

All three go through PyTorch's weighting, ignoring, smoothing and reduction:

- index targets: ``loss = (1 - E) * w[t] * nll + (E / C) * sum_c -w_c log p_c``,
  zero where ``t == ignore_index``; ``mean = sum(loss) / sum(w[t])`` over the
  samples not ignored.
- probability targets: ``t' = (1 - E) * t + E / C`` and
  ``loss = -sum_c w_c t'_c log p_c``; ``mean = sum(loss) / M`` (the number of
  samples, not a weight sum).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
from numpy.typing import NDArray

from ce_cli.errors import OptionError
from ce_cli.kernel import run_blocks
from ce_cli.shifted import Shifted
from ce_cli.validate import Problem, prepare

Formula = Literal["cross_entropy", "log_softmax_nll", "naive"]
Reduction = Literal["mean", "sum", "none"]
FORMULAS: tuple[Formula, ...] = get_args(Formula)
REDUCTIONS: tuple[Reduction, ...] = get_args(Reduction)

Float64Array = NDArray[np.float64]


ROW_SUM_TOLERANCE = 1e-6


@dataclass(frozen=True)
class RowFacts:
    """What the rows showed while they were evaluated, for the warnings about the data.

    Attributes:
        all_probability_like: every row lies in [0, 1] and sums to 1 (within
            ``ROW_SUM_TOLERANCE``), as probabilities do.
        not_probability: rows with a value outside (0, 1], or not summing to 1
            (counted only for ``naive``, which expects probabilities).
        non_finite: rows with a NaN or infinite logit whose loss is NaN or infinite.
    """

    all_probability_like: bool
    not_probability: int
    non_finite: int

    def __add__(self, other: RowFacts) -> RowFacts:
        return RowFacts(
            self.all_probability_like and other.all_probability_like,
            self.not_probability + other.not_probability,
            self.non_finite + other.non_finite,
        )


@dataclass(frozen=True)
class Losses:
    """Per-sample losses, what their mean divides by, and facts gathered on the way.

    :func:`evaluate` gives per-sample arrays of the targets' sample shape (``()``
    for unbatched input); :func:`block_losses` gives those of one block, ``(B,)``.

    Attributes:
        losses: float64 per-sample losses (0 where ignored).
        denominator: ``sum(w[t])`` over samples not ignored (index targets),
            or the number of samples (probability targets).
        target_class: the target index as given (the ignore index where
            ignored; for probabilities, their argmax).
        target_log_prob: ``log p[target_class]`` under the formula (``log q``
            for naive, ``log_softmax`` otherwise); meaningless where ignored.
        target_is_max: whether the target's logit is its row's maximum (the
            prediction is right; a tie counts as right).
        facts: counts about the rows, for warnings (see :class:`RowFacts`).
    """

    losses: Float64Array
    denominator: float
    target_class: NDArray[np.intp]
    target_log_prob: Float64Array
    target_is_max: NDArray[np.bool_]
    facts: RowFacts

    @property
    def sum(self) -> float:
        """``sum(losses)`` (pairwise summation); NaN if it holds +inf and -inf."""
        with np.errstate(invalid="ignore", over="ignore"):
            return float(np.sum(self.losses))

    @property
    def mean(self) -> float:
        """``sum(losses) / denominator``; NaN when nothing counts (``0 / 0``)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return float(np.float64(self.sum) / np.float64(self.denominator))

    def reduce(self, reduction: Reduction) -> float | Float64Array:
        """The value PyTorch returns for ``reduction``."""
        if reduction == "none":
            return self.losses
        return self.mean if reduction == "mean" else self.sum


def _check_formula(formula: str) -> None:
    if formula not in FORMULAS:
        raise OptionError(f"unknown formula {formula!r}; choose one of {', '.join(FORMULAS)}")


def _row_facts(x: NDArray[Any], maximum: Float64Array, losses: Float64Array, formula: Formula) -> RowFacts:
    """What a block's rows show, reading no more of them than the answer needs.

    Ordinary logits have a row maximum outside [0, 1], which settles that not
    every row is a probability without a further pass; only blocks that could
    be all probabilities (or ``naive``, which counts the rows that are not)
    have their rows summed.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        maybe_all = bool(np.all((maximum >= 0.0) & (maximum <= 1.0)))
        all_probability_like = maybe_all
        not_probability = 0
        if maybe_all or formula == "naive":
            rows = np.asarray(x, dtype=np.float64)
            sums_to_one = np.abs(rows.sum(axis=1) - 1.0) <= ROW_SUM_TOLERANCE
            low = rows.min(axis=1)
            all_probability_like = maybe_all and bool(np.all(sums_to_one & (low >= 0.0)))
            if formula == "naive":
                not_probability = int(np.count_nonzero(~(sums_to_one & (low > 0.0) & (maximum <= 1.0))))
        bad = ~np.isfinite(losses)
        non_finite = int(np.count_nonzero(~np.isfinite(np.asarray(x[bad])).all(axis=1))) if bad.any() else 0
    return RowFacts(all_probability_like, not_probability, non_finite)


def block_losses(problem: Problem, start: int, stop: int, formula: Formula) -> Losses:
    """Evaluate rows ``start:stop`` of ``problem`` under ``formula``.

    The fused formula never builds log-softmax: ``nll = lse_z - z[t]`` with
    ``z = x - max(x)`` (see :class:`~ce_cli.shifted.Shifted`); ``log_softmax_nll``
    builds the block ``z - lse_z`` and picks from it; ``naive`` takes ``log x``.
    """
    x = problem.rows[start:stop]
    targets = problem.targets[start:stop]
    num_classes = problem.num_classes
    eps = problem.label_smoothing
    w = problem.weight
    if problem.soft:
        soft_t = np.asarray(targets, dtype=np.float64)
        target_class = np.argmax(soft_t, axis=1)
        valid = np.ones(len(target_class), dtype=bool)
    else:
        valid = targets != problem.ignore_index
        target_class = np.where(valid, targets, 0)

    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        # Every formula shifts the block: cross_entropy needs lse_z and z[t]; the others read
        # the row maxima (for accuracy and the warnings) and the block's layout from it.
        z_needed = formula == "log_softmax_nll" or problem.soft or eps > 0.0
        block = Shifted(x, keep_z=z_needed, gather=target_class)
        assert block.gathered is not None
        target_is_max = block.gathered == 0.0
        if formula == "cross_entropy":
            log_probs = None
            target_log_prob = block.gathered - block.lse_z
        else:
            if formula == "log_softmax_nll":
                log_probs = block.log_probs()
            else:
                log_probs = block.in_layout(np.log(np.asarray(x, dtype=np.float64)))
            target_log_prob = block.take(target_class, log_probs)

        if problem.soft:
            if eps > 0.0:
                soft_t = soft_t * (1.0 - eps) + eps / num_classes
            wt = block.in_layout(soft_t if w is None else soft_t * w)
            if log_probs is None:
                losses = block.lse_z * block.row_sum(wt) - block.row_sum(wt * block.z)
            else:
                losses = -block.row_sum(wt * log_probs)
            denominator = float(stop - start)
        else:
            w_t = np.ones(len(target_class)) if w is None else w[target_class]
            losses = -w_t * target_log_prob
            if eps > 0.0:
                if log_probs is None:
                    total_w = num_classes if w is None else float(np.sum(w))
                    smooth = block.lse_z * total_w - (block.row_sum() if w is None else block.row_dot(w))
                else:
                    smooth = -(block.row_sum(log_probs) if w is None else block.row_dot(w, log_probs))
                losses = (1.0 - eps) * losses + (eps / num_classes) * smooth
            losses = np.where(valid, losses, 0.0)
            denominator = float(np.sum(w_t[valid]))
            target_class = targets.astype(np.intp)
        losses = losses + 0.0  # turns -0.0 (from -(0 - 0)) into 0.0
        facts = _row_facts(x, block.maximum, losses, formula)
    return Losses(losses, denominator, target_class, target_log_prob, target_is_max, facts)


def evaluate(
    problem: Problem, formula: Formula = "cross_entropy", *, progress: Callable[[int], None] | None = None
) -> Losses:
    """Per-sample losses of a validated :class:`Problem` under ``formula``.

    Evaluated block by block on every core (:mod:`ce_cli.kernel`); a
    memory-mapped input streams through in constant resident memory.

    Args:
        problem: validated input.
        formula: one of ``FORMULAS``.
        progress: called with the number of rows done, as blocks finish.

    Returns:
        :class:`Losses` whose per-sample arrays have ``problem.sample_shape``.
    """
    _check_formula(formula)
    blocks = list(
        run_blocks(problem.rows, lambda start, stop: block_losses(problem, start, stop, formula), progress=progress)
    )
    shape = problem.sample_shape

    def joined(name: str, dtype: Any) -> NDArray[Any]:
        parts = [getattr(b, name) for b in blocks]
        return (np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)).reshape(shape)

    return Losses(
        losses=joined("losses", np.float64),
        denominator=float(sum(b.denominator for b in blocks)),
        target_class=joined("target_class", np.intp),
        target_log_prob=joined("target_log_prob", np.float64),
        target_is_max=joined("target_is_max", np.bool_),
        facts=sum((b.facts for b in blocks), RowFacts(True, 0, 0)),
    )


def cross_entropy(
    logits: Any,
    targets: Any,
    *,
    weight: Any = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: Reduction = "mean",
    class_axis: int = 1,
    formula: Formula = "cross_entropy",
) -> float | Float64Array:
    """Cross-entropy loss with the arguments and semantics of PyTorch's.

    ``torch.nn.functional.cross_entropy(input, target, weight, ignore_index=-100,
    reduction="mean", label_smoothing=0.0)``, computed in float64.

    Args:
        logits: ``(N, C)``, ``(N, C, d1, ..., dk)`` or unbatched ``(C,)`` raw
            scores (for ``formula="naive"``: probabilities).
        targets: class indices of shape ``(N,)``/``(N, d1, ..., dk)``/``()``,
            or class probabilities of the logits' shape.
        weight: ``(C,)`` class weights, or ``None``.
        ignore_index: index targets equal to it contribute nothing and leave
            the mean's denominator.
        label_smoothing: ``E`` in ``[0, 1]``; mixes the targets with the
            uniform distribution.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        class_axis: the class axis of ``logits`` (1, PyTorch's layout; -1 for
            ``(batch, time, vocab)``); unbatched input uses axis 0.
        formula: ``"cross_entropy"``, ``"log_softmax_nll"`` or ``"naive"``.

    Returns:
        a float for ``"mean"`` and ``"sum"``; for ``"none"``, float64 losses of
        the targets' sample shape.

    Raises:
        ShapeError, TargetError, OptionError, InputError: for invalid input.

    Example:
        >>> x = [[0.1234, 0.5555, 0.3211]] * 3
        >>> round(cross_entropy(x, [0, 1, 2]), 4)
        1.1142
    """
    if reduction not in REDUCTIONS:
        raise OptionError(f"unknown reduction {reduction!r}; choose one of {', '.join(REDUCTIONS)}")
    _check_formula(formula)
    problem = prepare(
        logits,
        targets,
        weight=weight,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        class_axis=class_axis,
    )
    return evaluate(problem, formula).reduce(reduction)
