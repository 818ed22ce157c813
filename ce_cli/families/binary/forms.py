"""Binary and multi-label cross-entropy, element by element, as PyTorch computes it. Pure numpy.

Every element of the input is its own binary problem with a target ``t`` in
[0, 1] (0/1, or soft). With ``w`` the weight (broadcast against the input) and
``pw`` the positive weight (broadcast over the last axis; 1 when not given):

- logits ``x``, fused (``binary_cross_entropy_with_logits``):
  ``loss = w * (pw * t * softplus(-x) + (1 - t) * softplus(x))`` with
  ``softplus(z) = max(z, 0) + log1p(exp(-|z|))``, which never overflows and keeps
  the loss of a confident correct logit (``log1p(exp(-40)) = 4.2e-18`` where
  PyTorch's own arrangement rounds it to 0). Infinite logits follow PyTorch's
  arrangement exactly (NaN for three of the four combinations of ``+-inf`` and 0/1).
- logits, two steps: ``log_sigmoid(x)`` and ``log_sigmoid(-x)``, then the weighted
  negative log-likelihood ``-w * (pw * t * log_sigmoid(x) + (1 - t) * log_sigmoid(-x))``.
- probabilities ``p`` (``binary_cross_entropy``):
  ``loss = w * ((t - 1) * max(log(1 - p), -100) - t * max(log p, -100))``, PyTorch's
  clamp of each log at -100; ``p`` outside [0, 1] is an error, as in PyTorch.

``mean`` divides the summed losses by the number of elements.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ce_cli.array_types import Float64Array
from ce_cli.errors import InputError, ShapeError, TargetError


def softplus(z: Float64Array) -> Float64Array:
    """``log(1 + exp(z))`` without overflow: ``max(z, 0) + log1p(exp(-|z|))``."""
    with np.errstate(over="ignore", invalid="ignore"):
        out: Float64Array = np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))
    return out


def _pytorch_arrangement(x: Float64Array, t: Float64Array, pos_weight: Float64Array | None) -> Float64Array:
    """PyTorch's own arrangement of the logits loss, used where a logit is infinite (its NaNs are the contract)."""
    with np.errstate(over="ignore", invalid="ignore"):
        clamped = np.maximum(-x, 0.0)
        if pos_weight is None:
            out: Float64Array = (1.0 - t) * x + clamped + np.log(np.exp(-clamped) + np.exp(-x - clamped))
        else:
            log_weight = (pos_weight - 1.0) * t + 1.0
            out = (1.0 - t) * x + log_weight * (clamped + np.log1p(np.exp(-np.abs(x))))
    return out


def logits_losses(
    x: Float64Array, t: Float64Array, pos_weight: Float64Array | None, *, two_step: bool = False
) -> Float64Array:
    """Per-element losses for logits ``x`` and targets ``t`` (same shape), before the weight."""
    positive = t if pos_weight is None else pos_weight * t
    with np.errstate(over="ignore", invalid="ignore"):
        if two_step:
            log_sigmoid_x = -np.logaddexp(0.0, -x)
            log_sigmoid_minus_x = -np.logaddexp(0.0, x)
            out: Float64Array = -(positive * log_sigmoid_x + (1.0 - t) * log_sigmoid_minus_x)
        else:
            out = positive * softplus(-x) + (1.0 - t) * softplus(x)
    infinite = np.isinf(x)
    if infinite.any():
        out = np.where(infinite, _pytorch_arrangement(x, t, pos_weight), out)
    return out + 0.0


def probability_losses(
    p: Float64Array, t: Float64Array, clip: float | None, name: str = "input", *, strict: bool = True
) -> Float64Array:
    """Per-element losses for probabilities ``p`` and targets ``t``, before the weight.

    With ``strict`` (PyTorch's rule) a value outside [0, 1] is an error; without it
    (``compare``, which shows every formula side by side), its loss is NaN.

    Raises:
        InputError: a value of ``p`` outside [0, 1], when ``strict``.
    """
    with np.errstate(invalid="ignore"):
        outside = ~((p >= 0.0) & (p <= 1.0))
    if outside.any() and not strict:
        inside = np.where(outside, 0.5, p)
        return np.where(outside, np.nan, probability_losses(inside, t, clip, name))
    if outside.any():
        where = int(np.argmax(outside.reshape(-1)))
        value = float(p.reshape(-1)[where])
        raise InputError(f"{name}: binary cross-entropy takes probabilities in [0, 1], and {value!r} is not one")
    if clip is not None:
        p = np.clip(p, clip, 1.0 - clip)
    with np.errstate(divide="ignore"):
        out: Float64Array = (t - 1.0) * np.maximum(np.log1p(-p), -100.0) - t * np.maximum(np.log(p), -100.0)
    return out + 0.0


def broadcast_option(value: Any, shape: tuple[int, ...], name: str, what: str) -> Float64Array | None:
    """``value`` as float64 broadcast to ``shape`` (``None`` stays ``None``), or a :class:`ShapeError`."""
    if value is None:
        return None
    array = np.asarray(value, dtype=np.float64)
    try:
        if np.broadcast_shapes(array.shape, shape) != shape:
            raise ValueError
    except ValueError:
        raise ShapeError(
            f"{name} has shape {array.shape}, which does not broadcast to the input's shape {shape} ({what})"
        ) from None
    return np.broadcast_to(array, shape)


def check_targets(
    t: NDArray[Any], shape: tuple[int, ...], name: str = "target", *, check_range: bool = True
) -> NDArray[np.floating[Any]]:
    """Targets of the input's shape with values in [0, 1], in their floating dtype (others as float64).

    ``check_range=False`` leaves the range to the evaluation, which checks it as the blocks go by
    (:func:`check_target_range`).
    """
    targets = np.asarray(t)
    if targets.dtype.kind != "f" or not targets.dtype.isnative:
        targets = targets.astype(np.float64)
    if targets.shape != shape:
        raise ShapeError(f"{name} has shape {targets.shape}, but binary cross-entropy needs the input's shape {shape}")
    if check_range:
        check_target_range(targets, name)
    return targets


def check_target_range(targets: NDArray[np.floating[Any]], name: str) -> None:
    """A :class:`TargetError` naming the first target outside [0, 1] (or NaN), if there is one."""
    if targets.size and not (np.min(targets) >= 0.0 and np.max(targets) <= 1.0):  # NaN fails both
        with np.errstate(invalid="ignore"):
            outside = ~((targets >= 0.0) & (targets <= 1.0))
        value = float(targets.reshape(-1)[int(np.argmax(outside.reshape(-1)))])
        raise TargetError(f"{name}: binary targets are 0/1 or probabilities in [0, 1], and {value!r} is not one")
