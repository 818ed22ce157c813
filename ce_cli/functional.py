"""The public loss functions, named and shaped as ``torch.nn.functional``'s. Pure numpy."""

from __future__ import annotations

from typing import Literal, overload

import numpy as np
from numpy.typing import ArrayLike

from ce_cli.array_types import Float64Array
from ce_cli.errors import OptionError
from ce_cli.families.binary.inputs import validate_binary
from ce_cli.families.binary.report import build_binary_report
from ce_cli.families.softmax.inputs import (
    DEFAULT_CLASS_AXIS,
    DEFAULT_IGNORE_INDEX,
    DEFAULT_LABEL_SMOOTHING,
    validate_inputs,
)
from ce_cli.families.softmax.losses import evaluate, reduction_named
from ce_cli.formulas import REFERENCE, REGISTRY, formula_spec, probability_clip


@overload
def cross_entropy(
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    weight: ArrayLike | None = ...,
    ignore_index: int = ...,
    label_smoothing: float = ...,
    reduction: Literal["mean", "sum"] = ...,
    class_axis: int = ...,
    formula: str = ...,
    eps: float | str | None = ...,
    convention: str = ...,
    sample_weight: ArrayLike | None = ...,
) -> float: ...
@overload
def cross_entropy(
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    weight: ArrayLike | None = ...,
    ignore_index: int = ...,
    label_smoothing: float = ...,
    reduction: Literal["none"],
    class_axis: int = ...,
    formula: str = ...,
    eps: float | str | None = ...,
    convention: str = ...,
    sample_weight: ArrayLike | None = ...,
) -> Float64Array: ...
@overload
def cross_entropy(
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    weight: ArrayLike | None = ...,
    ignore_index: int = ...,
    label_smoothing: float = ...,
    reduction: str,
    class_axis: int = ...,
    formula: str = ...,
    eps: float | str | None = ...,
    convention: str = ...,
    sample_weight: ArrayLike | None = ...,
) -> float | Float64Array: ...
def cross_entropy(
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    ignore_index: int = DEFAULT_IGNORE_INDEX,
    label_smoothing: float = DEFAULT_LABEL_SMOOTHING,
    reduction: str = "mean",
    class_axis: int = DEFAULT_CLASS_AXIS,
    formula: str = REFERENCE,
    eps: float | str | None = None,
    convention: str = "pytorch",
    sample_weight: ArrayLike | None = None,
) -> float | Float64Array:
    """Cross-entropy loss with the arguments and semantics of PyTorch's.

    ``torch.nn.functional.cross_entropy(input, target, weight, ignore_index=-100,
    reduction="mean", label_smoothing=0.0)``, computed in float64. The formulas
    are in :mod:`ce_cli.formulas`; weights, ignored targets, smoothing and
    probability targets in :mod:`ce_cli.families.softmax.weighting`.

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
        formula: a registered formula: ``"cross_entropy"``, ``"log_softmax_nll"`` or ``"naive"``.
        eps: for a formula that takes probabilities (``"naive"``), clip them into
            ``[eps, 1 - eps]`` before the log; ``"auto"`` uses the machine epsilon
            of the input's dtype, which gives ``sklearn.metrics.log_loss``.
        convention: whose loss: ``"pytorch"``, or another framework's as it computes it
            (:data:`ce_cli.conventions.CONVENTIONS`; :mod:`ce_cli.conventions.softmax`).
        sample_weight: one weight per sample, divided as the convention's framework divides.

    Returns:
        a float for ``"mean"`` and ``"sum"``; for ``"none"``, float64 losses of
        the targets' sample shape (under another convention: flat, weighted as it weights them).

    Raises:
        ShapeError, TargetError, OptionError, InputError: for invalid input.

    Example:
        >>> x = [[0.1234, 0.5555, 0.3211]] * 3
        >>> round(cross_entropy(x, [0, 1, 2]), 4)
        1.1142
    """
    chosen = reduction_named(reduction)
    spec = formula_spec(formula)
    by_pytorch = convention == "pytorch" and sample_weight is None
    inputs = validate_inputs(
        logits,
        targets,
        weight=weight,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        class_axis=class_axis,
        check_range=not by_pytorch,  # PyTorch's own loss: evaluate checks the range in the kernel's pass
    )
    if not by_pytorch:
        return _by_convention(convention, "multiclass", inputs, formula, chosen, sample_weight)
    clip = probability_clip(eps, spec, inputs.rows.dtype)
    return evaluate(inputs, spec, clip=clip).reduce(chosen)


def _by_convention(
    convention: str, task: str, inputs: object, formula: str, reduction: str, sample_weight: ArrayLike | None,
    binary_smoothing: float = 0.0,
) -> float | Float64Array:  # fmt: skip
    """The loss as ``convention``'s framework computes it (:mod:`ce_cli.conventions`)."""
    from ce_cli.conventions.evaluate import evaluate_convention, per_sample_weight, pytorch_with_sample_weight

    shape = inputs.sample_shape if task == "multiclass" else inputs.shape  # type: ignore[attr-defined]
    weights = None if sample_weight is None else per_sample_weight(sample_weight, shape, "sample_weight")
    if convention == "pytorch":
        assert weights is not None
        if task == "binary":
            losses = np.asarray(_reduced(build_binary_report(inputs, formula_spec(formula)).losses, "none"))  # type: ignore[arg-type]
            result = pytorch_with_sample_weight(losses.reshape(-1), np.ones(losses.size, dtype=bool), weights)
        else:
            losses = evaluate(inputs, formula_spec(formula)).per_sample.reshape(-1)  # type: ignore[arg-type]
            result = pytorch_with_sample_weight(losses, inputs.counted, weights)  # type: ignore[attr-defined]
    else:
        result = evaluate_convention(
            convention, task, inputs, formula=formula, reduction=reduction, sample_weight=weights,
            binary_smoothing=binary_smoothing,
        )  # fmt: skip
    return result.per_sample if reduction == "none" else result.value


def _reduced(losses: Float64Array, reduction: str) -> float | Float64Array:
    """PyTorch's reduction of element-wise losses: mean over every element."""
    chosen = reduction_named(reduction)
    if chosen == "none":
        return losses
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        total = float(np.sum(losses))
        return total if chosen == "sum" else float(np.float64(total) / np.float64(losses.size))


@overload
def binary_cross_entropy_with_logits(
    input: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = ...,
    pos_weight: ArrayLike | None = ...,
    reduction: Literal["mean", "sum"] = ...,
    formula: str = ...,
    eps: float | str | None = ...,
    convention: str = ...,
    sample_weight: ArrayLike | None = ...,
    label_smoothing: float = ...,
) -> float: ...
@overload
def binary_cross_entropy_with_logits(
    input: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = ...,
    pos_weight: ArrayLike | None = ...,
    reduction: Literal["none"],
    formula: str = ...,
    eps: float | str | None = ...,
    convention: str = ...,
    sample_weight: ArrayLike | None = ...,
    label_smoothing: float = ...,
) -> Float64Array: ...
@overload
def binary_cross_entropy_with_logits(
    input: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = ...,
    pos_weight: ArrayLike | None = ...,
    reduction: str,
    formula: str = ...,
    eps: float | str | None = ...,
    convention: str = ...,
    sample_weight: ArrayLike | None = ...,
    label_smoothing: float = ...,
) -> float | Float64Array: ...
def binary_cross_entropy_with_logits(
    input: ArrayLike,  # PyTorch's name
    target: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    pos_weight: ArrayLike | None = None,
    reduction: str = "mean",
    formula: str = REFERENCE,
    eps: float | str | None = None,
    convention: str = "pytorch",
    sample_weight: ArrayLike | None = None,
    label_smoothing: float = 0.0,
) -> float | Float64Array:
    """Binary (and multi-label) cross-entropy on logits, with the arguments and semantics of PyTorch's.

    ``torch.nn.functional.binary_cross_entropy_with_logits``, computed in float64
    (the forms are in :mod:`ce_cli.families.binary.forms`).

    Args:
        input: logits of any shape: ``(N,)`` for a binary classifier, ``(N, L)``
            for ``L`` labels, ``(N, L, d1, ...)`` for masks. Every element is its
            own binary problem.
        target: the input's shape, 0/1 or soft in [0, 1].
        weight: broadcast against the input (``(L,)``, ``(N, 1)`` or the input's shape).
        pos_weight: the weight of positives, broadcast over the last axis (``(L,)``; ``(1,)`` for ``(N,)``).
        reduction: ``"mean"`` (over every element), ``"sum"`` or ``"none"``.
        formula: ``"cross_entropy"`` (the fused stable form), ``"log_softmax_nll"``
            (log-sigmoid, then NLL) or ``"naive"`` (the inputs taken as probabilities).
        eps: for ``"naive"``, clip the probabilities into ``[eps, 1 - eps]`` (``"auto"``:
            the machine epsilon of the input's dtype).
        convention, sample_weight: as in :func:`cross_entropy`.
        label_smoothing: ``y (1 - E) + E / 2``, under a convention whose framework has it (Keras, TF v1);
            PyTorch's binary loss has none.

    Raises:
        ShapeError, TargetError, InputError, OptionError: for invalid input.

    Example:
        >>> round(binary_cross_entropy_with_logits([2.0, -1.0], [1.0, 0.0]), 6)
        0.220095
    """
    spec = formula_spec(formula)
    by_pytorch = convention == "pytorch" and sample_weight is None
    # PyTorch's own formula: the targets' range is checked in the kernel's pass over them
    inputs = validate_binary(input, target, weight=weight, pos_weight=pos_weight, check_range=not by_pytorch)
    if not by_pytorch:
        return _by_convention(convention, "binary", inputs, formula, reduction, sample_weight, label_smoothing)
    if label_smoothing:
        raise OptionError("PyTorch's binary cross-entropy has no label smoothing (Keras and TF v1 do: convention=)")
    report = build_binary_report(inputs, spec, eps=eps)  # blocks on every core, as the command line evaluates
    return _reduced(report.losses, reduction)


@overload
def binary_cross_entropy(
    input: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = ...,
    reduction: Literal["mean", "sum"] = ...,
    eps: float | str | None = ...,
) -> float: ...
@overload
def binary_cross_entropy(
    input: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = ...,
    reduction: Literal["none"],
    eps: float | str | None = ...,
) -> Float64Array: ...
@overload
def binary_cross_entropy(
    input: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = ...,
    reduction: str,
    eps: float | str | None = ...,
) -> float | Float64Array: ...
def binary_cross_entropy(
    input: ArrayLike,  # PyTorch's name
    target: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    reduction: str = "mean",
    eps: float | str | None = None,
) -> float | Float64Array:
    """Binary cross-entropy on probabilities, as ``torch.nn.functional.binary_cross_entropy``.

    Each log is clamped at -100 as PyTorch clamps it; ``input`` outside [0, 1] is
    an :class:`~ce_cli.errors.InputError`. ``eps`` clips the probabilities into
    ``[eps, 1 - eps]`` first (``"auto"``: the machine epsilon of the input's dtype).
    Shapes, ``weight`` and ``reduction`` as in :func:`binary_cross_entropy_with_logits`.

    Example:
        >>> round(binary_cross_entropy([0.9, 0.2], [1.0, 0.0]), 6)
        0.164252
    """
    naive = next(name for name, spec in REGISTRY.items() if spec.binary == "probabilities")
    return binary_cross_entropy_with_logits(input, target, weight=weight, reduction=reduction, formula=naive, eps=eps)
