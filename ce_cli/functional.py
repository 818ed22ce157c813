"""The public loss functions, named and shaped as ``torch.nn.functional``'s. Pure numpy."""

from __future__ import annotations

from typing import Literal, overload

from numpy.typing import ArrayLike

from ce_cli.array_types import Float64Array
from ce_cli.formulas import REFERENCE, formula_spec, probability_clip
from ce_cli.losses import evaluate, reduction_named
from ce_cli.validate import DEFAULT_CLASS_AXIS, DEFAULT_IGNORE_INDEX, DEFAULT_LABEL_SMOOTHING, validate_inputs


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
) -> float | Float64Array:
    """Cross-entropy loss with the arguments and semantics of PyTorch's.

    ``torch.nn.functional.cross_entropy(input, target, weight, ignore_index=-100,
    reduction="mean", label_smoothing=0.0)``, computed in float64. The formulas
    are in :mod:`ce_cli.formulas`; weights, ignored targets, smoothing and
    probability targets in :mod:`ce_cli.weighting`.

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
    chosen = reduction_named(reduction)
    spec = formula_spec(formula)
    inputs = validate_inputs(
        logits,
        targets,
        weight=weight,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        class_axis=class_axis,
    )
    clip = probability_clip(eps, spec, inputs.rows.dtype)
    return evaluate(inputs, spec, clip=clip).reduce(chosen)
