"""Binary cross-entropy as other frameworks compute it, element by element. Pure numpy.

``x``: logits (``formula`` cross_entropy) or probabilities (naive), of any shape ``(N, ...)``; ``y`` its
shape, 0/1 or soft.
"""

from __future__ import annotations

import numpy as np

from ce_cli.array_types import Float64Array
from ce_cli.conventions.options import KERAS_EPSILON, ConventionResult


def _sigmoid_ce(x: Float64Array, y: Float64Array) -> Float64Array:
    """``max(x, 0) - x y + log1p(exp(-|x|))``, the stable form every framework uses on logits."""
    with np.errstate(over="ignore", invalid="ignore"):
        out: Float64Array = np.maximum(x, 0.0) - x * y + np.log1p(np.exp(-np.abs(x)))
    return out


def _per_sample(elements: Float64Array) -> Float64Array:
    """Keras's ``ops.mean(..., axis=-1)``: one loss per sample (per row of the last axis)."""
    if elements.ndim <= 1:
        return elements
    out: Float64Array = np.mean(elements, axis=-1)
    return out


def keras(
    x: Float64Array,
    y: Float64Array,
    *,
    tf_backend: bool,
    logits: bool,
    smoothing: float,
    sample_weight: Float64Array | None,
    reduction: str,
) -> ConventionResult:
    """Keras 3 ``BinaryCrossentropy``: labels smoothed as ``y (1 - e) + e / 2``; with logits the stable
    sigmoid form; without, probabilities clipped into ``[1e-7, 1 - 1e-7]`` (keras/src/backend/*/nn.py
    ``binary_crossentropy``); the mean over the last axis per sample (keras/src/losses/losses.py), then
    ``sum_over_batch_size``."""
    name = "keras-tf" if tf_backend else "keras"
    if smoothing > 0.0:
        y = y * (1.0 - smoothing) + 0.5 * smoothing
    notes: list[str] = []
    if logits:
        elements = _sigmoid_ce(x, y)
    else:
        p = np.clip(x, KERAS_EPSILON, 1.0 - KERAS_EPSILON)
        notes.append(f"Keras clipped {int(np.count_nonzero(p != x))} probabilities into [1e-7, 1 - 1e-7]")
        with np.errstate(divide="ignore", invalid="ignore"):
            elements = -(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))
    losses = _per_sample(elements)
    weighted = (
        losses if sample_weight is None else losses * sample_weight.reshape(losses.shape[:1] + (1,) * (losses.ndim - 1))
    )
    total = float(np.sum(weighted))
    if elements.ndim > 1:
        notes.append("Keras averages over the last axis per sample first")
    denominator = 1.0 if reduction == "sum" else float(weighted.size)
    return ConventionResult(name, weighted.reshape(-1), total, denominator, tuple(notes))


def tf_v1(
    x: Float64Array, y: Float64Array, *, smoothing: float, sample_weight: Float64Array | None, reduction: str
) -> ConventionResult:
    """``tf.compat.v1.losses.sigmoid_cross_entropy``: labels smoothed as ``y (1 - e) + e / 2``, the losses in
    float32, the weighted sum over the number of non-zero weights (broadcast to every element)."""
    if smoothing > 0.0:
        y = y * (1.0 - smoothing) + 0.5 * smoothing
    elements = _sigmoid_ce(x, y).astype(np.float32).astype(np.float64)
    weight = np.ones_like(elements)
    if sample_weight is not None:
        weight = np.broadcast_to(sample_weight.reshape((-1,) + (1,) * (elements.ndim - 1)), elements.shape)
    weighted = elements * weight
    total = float(np.sum(weighted))
    denominator = 1.0 if reduction == "sum" else float(np.count_nonzero(weight))
    if not denominator:
        total, denominator = 0.0, 1.0
    notes = ("TF v1 computes the losses in float32 and divides by the non-zero weights",)
    return ConventionResult("tf-v1", weighted.reshape(-1), total, denominator, notes)


def optax(x: Float64Array, y: Float64Array, *, sample_weight: Float64Array | None, reduction: str) -> ConventionResult:
    """``jnp.mean(optax.sigmoid_binary_cross_entropy(logits, labels))``: the mean over every element."""
    elements = _sigmoid_ce(x, y)
    if sample_weight is not None:
        elements = elements * sample_weight.reshape((-1,) + (1,) * (elements.ndim - 1))
    total = float(np.sum(elements))
    denominator = 1.0 if reduction == "sum" else float(elements.size)
    return ConventionResult("optax", elements.reshape(-1), total, denominator, ("a plain mean over every element",))
