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

from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
from numpy.typing import NDArray

from ce_cli.errors import OptionError
from ce_cli.validate import Problem, prepare

Formula = Literal["cross_entropy", "log_softmax_nll", "naive"]
Reduction = Literal["mean", "sum", "none"]
FORMULAS: tuple[Formula, ...] = get_args(Formula)
REDUCTIONS: tuple[Reduction, ...] = get_args(Reduction)

Float64Array = NDArray[np.float64]


def _log_sum_exp_shifted(z: Float64Array, axis: int) -> Float64Array:
    """``log sum_j exp(z_j)`` for rows whose maximum is 0, keeping dims.

    The maximum's term is exactly 1, so the sum is ``1 + s`` with ``s`` the sum
    of the other terms, and ``log1p(s)`` keeps ``s`` even when it is far below
    the float64 epsilon (a confident, correct prediction has a loss of
    ``~s``, not 0). Adding ``z`` at the maximum (0, or NaN for a row whose
    maximum was infinite or NaN) propagates NaN as PyTorch's log-softmax does.
    """
    terms = np.exp(z)
    top = np.argmax(z, axis=axis, keepdims=True)
    np.put_along_axis(terms, top, 0.0, axis=axis)
    out: Float64Array = np.log1p(np.sum(terms, axis=axis, keepdims=True)) + np.take_along_axis(z, top, axis=axis)
    return out


def _shift(x: NDArray[Any], axis: int) -> tuple[Float64Array, Float64Array]:
    """``(z, log sum exp(z))`` with ``z = x - max(x)`` along ``axis`` (dims kept), in float64.

    A row whose maximum is infinite or NaN gives NaN, as PyTorch's log-softmax does.
    """
    x64 = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        z = x64 - np.max(x64, axis=axis, keepdims=True)
        return z, _log_sum_exp_shifted(z, axis)


def logsumexp(x: NDArray[Any], axis: int = -1) -> Float64Array:
    """``log sum_j exp(x_j)`` along ``axis``, with the maximum shifted out.

    ``m + log1p(sum_{j != argmax} exp(x_j - m))`` with ``m = max_j x_j``: exact
    for any finite input (no term exceeds 1). Infinite maxima are not shifted,
    as in ``scipy.special.logsumexp`` and ``torch.logsumexp``: a row holding
    ``+inf`` gives ``+inf``, a row of ``-inf`` gives ``-inf``; NaN propagates.

    Args:
        x: an array of any shape; computed in float64.
        axis: the axis to reduce.

    Returns:
        ``x``'s shape without ``axis``, float64.
    """
    x64 = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        m = np.max(x64, axis=axis, keepdims=True)
        m = np.where(np.isinf(m), 0.0, m)
        out = _log_sum_exp_shifted(x64 - m, axis) + m
    squeezed: Float64Array = np.squeeze(out, axis=axis)
    return squeezed


def log_softmax(x: NDArray[Any], axis: int = -1) -> Float64Array:
    """``log softmax(x) = (x - m) - log sum_j exp(x_j - m)`` along ``axis``.

    Never ``log(softmax(x))``, which underflows to ``-inf`` for small
    probabilities. A row whose maximum is infinite or NaN gives NaN, as in PyTorch.

    Args:
        x: an array of any shape; computed in float64.
        axis: the class axis.

    Returns:
        float64 array of ``x``'s shape.
    """
    z, lse_z = _shift(x, axis)
    out: Float64Array = z - lse_z
    return out


@dataclass(frozen=True)
class Losses:
    """Per-sample losses and what their mean divides by.

    Attributes:
        losses: float64 array of the targets' sample shape (``()`` for
            unbatched input).
        denominator: ``sum(w[t])`` over samples not ignored (index targets),
            or the number of samples (probability targets).
    """

    losses: Float64Array
    denominator: float

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


def _gather(values: Float64Array, index: NDArray[np.int64]) -> Float64Array:
    """``values[i, index[i]]`` for each row ``i`` of ``(B, C)`` values."""
    picked: Float64Array = np.take_along_axis(values, index[:, None], axis=1)[:, 0]
    return picked


def block_losses(problem: Problem, start: int, stop: int, formula: Formula) -> tuple[Float64Array, float]:
    """Losses of rows ``start:stop`` and their share of the mean's denominator.

    Returns:
        ``(losses (B,), denominator share)`` with ``B = stop - start``.
    """
    x = np.asarray(problem.rows[start:stop], dtype=np.float64)
    targets = problem.targets[start:stop]
    num_classes = problem.num_classes
    eps = problem.label_smoothing
    w = problem.weight

    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        if formula == "cross_entropy":
            # z = x - m, lse_z = log sum exp(z); log p = z - lse_z is never built.
            z, lse_column = _shift(x, axis=1)
            lse_z = lse_column[:, 0]
            log_probs = None
        else:
            log_probs = log_softmax(x, axis=1) if formula == "log_softmax_nll" else np.log(x)

        if problem.soft:
            soft_t = np.asarray(targets, dtype=np.float64)
            if eps > 0.0:
                soft_t = soft_t * (1.0 - eps) + eps / num_classes
            wt = soft_t if w is None else soft_t * w
            if log_probs is None:
                losses = lse_z * np.sum(wt, axis=1) - np.sum(wt * z, axis=1)
            else:
                losses = -np.sum(wt * log_probs, axis=1)
            return losses + 0.0, float(stop - start)

        valid = targets != problem.ignore_index
        safe_t = np.where(valid, targets, 0)
        nll = lse_z - _gather(z, safe_t) if log_probs is None else -_gather(log_probs, safe_t)
        w_t = np.ones_like(nll) if w is None else w[safe_t]
        losses = w_t * nll
        if eps > 0.0:
            if log_probs is None:
                smooth = lse_z * (num_classes if w is None else np.sum(w)) - (np.sum(z, axis=1) if w is None else z @ w)
            else:
                smooth = -(np.sum(log_probs, axis=1) if w is None else log_probs @ w)
            losses = (1.0 - eps) * losses + (eps / num_classes) * smooth
        # 0 where ignored; "+ 0.0" turns -0.0 (from -(0 - 0)) into 0.0.
        losses = np.where(valid, losses, 0.0) + 0.0
        return losses, float(np.sum(w_t[valid]))


def evaluate(problem: Problem, formula: Formula = "cross_entropy") -> Losses:
    """Per-sample losses of a validated :class:`Problem` under ``formula``.

    Returns:
        :class:`Losses` whose ``losses`` have ``problem.sample_shape``.
    """
    _check_formula(formula)
    losses, denominator = block_losses(problem, 0, problem.rows.shape[0], formula)
    return Losses(losses=losses.reshape(problem.sample_shape), denominator=denominator)


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
