"""Softmax cross-entropy as other frameworks compute it, on ``(M, C)`` rows. Pure numpy.

Each function's docstring names the framework source it follows. ``x``: logits (``formula`` cross_entropy)
or probabilities (naive); ``t``: ``(M,)`` class indices or ``(M, C)`` probabilities (one-hot rows).
"""

from __future__ import annotations

import numpy as np

from ce_cli.array_types import Float64Array
from ce_cli.conventions.options import KERAS_EPSILON, ConventionResult, refuse
from ce_cli.log_sum_exp import log_softmax


def _onehot(t: np.ndarray, classes: int) -> Float64Array:
    out = np.zeros((len(t), classes))
    valid = (t >= 0) & (t < classes)
    out[np.flatnonzero(valid), t[valid]] = 1.0
    return out


def _reduce(per_sample: Float64Array, reduction: str, denominator: float) -> tuple[float, float]:
    """``(numerator, denominator)``: the sum over 1 for ``sum``; a zero denominator gives 0, as
    ``divide_no_nan`` and ``SUM_BY_NONZERO_WEIGHTS`` do."""
    total = float(np.sum(per_sample))
    if reduction == "sum":
        return total, 1.0
    return (total, denominator) if denominator != 0.0 else (0.0, 1.0)


def keras(
    x: Float64Array,
    t: np.ndarray,
    *,
    tf_backend: bool,
    logits: bool,
    smoothing: float,
    ignore_index: int | None,
    sample_weight: Float64Array | None,
    reduction: str,
) -> ConventionResult:
    """Keras 3 ``CategoricalCrossentropy`` / ``SparseCategoricalCrossentropy``.

    keras/src/backend/{jax,tensorflow}/nn.py ``categorical_crossentropy``: with logits, ``-sum y log_softmax(x)``;
    without, rows renormalised to sum 1, clipped into ``[1e-7, 1 - 1e-7]``, then ``-sum y log p``. The
    TensorFlow backend's ``sparse_categorical_crossentropy`` without logits clips and logs first, then takes
    ``log_softmax`` of the logs (``tf.nn.sparse_softmax_cross_entropy_with_logits``): it renormalises after
    clipping. keras/src/losses/losses.py: label smoothing ``y (1 - e) + e / C`` (categorical only);
    ``ignore_class`` zeroes the ignored samples' losses and masks them out of the weights; the default
    reduction ``sum_over_batch_size`` divides the weighted sum by the number of samples
    (keras/src/losses/loss.py ``reduce_values``).
    """
    name = "keras-tf" if tf_backend else "keras"
    classes = x.shape[1]
    sparse = t.ndim == 1
    notes: list[str] = []
    if sparse and smoothing > 0.0:
        raise refuse(name, "--label-smoothing", " for index targets (SparseCategoricalCrossentropy)")
    if not sparse and ignore_index is not None:
        raise refuse(name, "--ignore-index", " for probability targets (CategoricalCrossentropy)")
    valid = np.ones(len(x), dtype=bool) if not sparse or ignore_index is None else t != ignore_index
    if sparse:
        y = _onehot(np.where(valid, t, 0), classes)
    else:
        y = np.asarray(t, dtype=np.float64)
        if smoothing > 0.0:
            y = y * (1.0 - smoothing) + smoothing / classes
    with np.errstate(divide="ignore", invalid="ignore"):
        if logits:
            log_p = log_softmax(np.where(valid[:, None], x, 0.0), axis=1)
        elif sparse and tf_backend:
            clipped = np.clip(x, KERAS_EPSILON, 1.0 - KERAS_EPSILON)
            log_p = log_softmax(np.log(clipped), axis=1)
            notes.append(
                "Keras on TensorFlow clips the probabilities into [1e-7, 1 - 1e-7], logs them, then renormalises"
            )
        else:
            p = x / np.sum(x, axis=1, keepdims=True)
            clipped = np.clip(p, KERAS_EPSILON, 1.0 - KERAS_EPSILON)
            count = int(np.count_nonzero(clipped != p))
            log_p = np.log(clipped)
            notes.append(f"Keras renormalises each row and clipped {count} probabilities into [1e-7, 1 - 1e-7]")
        losses = -np.sum(np.where(y == 0.0, 0.0, y * log_p), axis=1)
    losses = np.where(valid, losses, 0.0)
    weight = valid.astype(np.float64) if sample_weight is None else sample_weight * valid
    weighted = losses * weight
    # keras/src/losses/loss.py apply_mask: the ignored samples' mask divides by the valid ones, not by N
    count = int(np.count_nonzero(valid)) if ignore_index is not None else len(x)
    numerator, denominator = _reduce(weighted, reduction, float(count))
    if sample_weight is not None:
        notes.append(f"Keras divides the weighted sum by N = {count} (sum_over_batch_size), not by the weights")
    return ConventionResult(name, weighted, numerator, denominator, tuple(notes))


def tf_v1(
    x: Float64Array,
    t: np.ndarray,
    *,
    smoothing: float,
    sample_weight: Float64Array | None,
    reduction: str,
) -> ConventionResult:
    """``tf.compat.v1.losses.softmax_cross_entropy`` / ``sparse_softmax_cross_entropy``.

    tensorflow/python/ops/losses/losses_impl.py: smoothing ``y (1 - e) + e / C`` (softmax only), the
    losses cast to float32 by ``compute_weighted_loss``, and the default reduction
    ``SUM_BY_NONZERO_WEIGHTS``: the weighted sum over the number of non-zero weights.
    """
    classes = x.shape[1]
    sparse = t.ndim == 1
    if sparse and smoothing > 0.0:
        raise refuse("tf-v1", "--label-smoothing", " for index targets (sparse_softmax_cross_entropy)")
    y = _onehot(t, classes) if sparse else np.asarray(t, dtype=np.float64)
    if smoothing > 0.0:
        y = y * (1.0 - smoothing) + smoothing / classes
    log_p = log_softmax(x, axis=1)
    losses = -np.sum(np.where(y == 0.0, 0.0, y * log_p), axis=1)
    losses = losses.astype(np.float32).astype(np.float64)  # compute_weighted_loss: math_ops.cast(losses, float32)
    weight = np.ones(len(x)) if sample_weight is None else sample_weight
    weighted = losses * weight
    nonzero = float(np.count_nonzero(weight))
    numerator, denominator = _reduce(weighted, reduction, nonzero)
    notes = ["TF v1 computes the losses in float32 and divides the weighted sum by the non-zero weights"]
    return ConventionResult("tf-v1", weighted, numerator, denominator, tuple(notes))


def optax(
    x: Float64Array, t: np.ndarray, *, smoothing: float, sample_weight: Float64Array | None, reduction: str
) -> ConventionResult:
    """``optax.softmax_cross_entropy(logits, optax.smooth_labels(labels, e))``, averaged by ``jnp.mean``.

    optax/losses/_classification.py and optax/losses/_smoothing.py: ``(1 - e) labels + e / C``.
    """
    classes = x.shape[1]
    y = _onehot(t, classes) if t.ndim == 1 else np.asarray(t, dtype=np.float64)
    if smoothing > 0.0:
        y = (1.0 - smoothing) * y + smoothing / classes
    losses = -np.sum(np.where(y == 0.0, 0.0, y * log_softmax(x, axis=1)), axis=1)
    weighted = losses if sample_weight is None else losses * sample_weight
    numerator, denominator = _reduce(weighted, reduction, float(len(x)))
    return ConventionResult("optax", weighted, numerator, denominator, ("a plain mean over the samples",))


def sklearn(
    p: Float64Array, t: np.ndarray, *, dtype: np.dtype, sample_weight: Float64Array | None, reduction: str
) -> ConventionResult:
    """``sklearn.metrics.log_loss(t, p, sample_weight=, labels=range(C), normalize=)`` (1.5 and later):
    probabilities clipped into ``[eps, 1 - eps]`` with ``eps`` the machine epsilon of their dtype, not
    renormalised; ``np.average`` with the weights (``normalize=False``: the weighted sum)."""
    classes = p.shape[1]
    y = _onehot(t, classes) if t.ndim == 1 else np.asarray(t, dtype=np.float64)
    eps = float(np.finfo(dtype).eps) if np.issubdtype(dtype, np.floating) else float(np.finfo(np.float64).eps)
    clipped = np.clip(p, eps, 1.0 - eps)
    with np.errstate(divide="ignore"):
        losses = -np.sum(np.where(y == 0.0, 0.0, y * np.log(clipped)), axis=1)
    weight = np.ones(len(p)) if sample_weight is None else sample_weight
    weighted = losses * weight
    numerator, denominator = _reduce(weighted, reduction, float(np.sum(weight)))
    notes = (f"scikit-learn clipped {int(np.count_nonzero(clipped != p))} probabilities into [eps, 1 - eps]",)
    return ConventionResult("sklearn", weighted, numerator, denominator, notes)


def fairseq(
    x: Float64Array,
    t: np.ndarray,
    *,
    smoothing: float,
    ignore_index: int | None,
    sample_weight: Float64Array | None,
    reduction: str,
) -> ConventionResult:
    """fairseq/criterions/label_smoothed_cross_entropy.py ``label_smoothed_nll_loss``: with
    ``eps_i = e / (V - 1)``, ``loss = (1 - e - eps_i) nll + eps_i sum_c (-log p_c)``, padding zeroed;
    the sum over tokens divided by the non-padding tokens (fairseq's logs print it divided by ln 2)."""
    classes = x.shape[1]
    valid = np.ones(len(x), dtype=bool) if ignore_index is None else t != ignore_index
    log_p = log_softmax(x, axis=1)
    picked = np.where(valid, t, 0)
    nll = np.where(valid, -log_p[np.arange(len(x)), picked], 0.0)
    smooth = np.where(valid, -np.sum(log_p, axis=1), 0.0)
    eps_i = smoothing / (classes - 1)
    losses = (1.0 - smoothing - eps_i) * nll + eps_i * smooth
    weighted = losses if sample_weight is None else losses * sample_weight
    numerator, denominator = _reduce(weighted, reduction, float(np.count_nonzero(valid)))
    notes = [f"fairseq spreads e over V - 1 = {classes - 1} classes (PyTorch over all {classes})"] if smoothing else []
    notes.append("fairseq's logs print this loss divided by ln 2 (bits)")
    return ConventionResult("fairseq", weighted, numerator, denominator, tuple(notes))


def transformers_causal_lm(
    x: Float64Array,
    labels: np.ndarray,
    sample_shape: tuple[int, ...],
    *,
    ignore_index: int,
    sample_weight: Float64Array | None,
    reduction: str,
) -> ConventionResult:
    """transformers/loss/loss_utils.py ``ForCausalLMLoss``: the logits upcast to float32 (``logits.float()``),
    the labels shifted one position left inside (position t is scored on label t + 1; the last position on
    the ignore index), then ``cross_entropy(reduction="mean")`` over the counted tokens.

    ``x``: ``(B * T, V)`` rows of ``(B, T, V)`` logits; ``labels``: ``(B, T)`` as given, unshifted.
    """
    if len(sample_shape) < 1:
        raise refuse("transformers-causal-lm", "unbatched input", "; it takes (B, T, V) logits and (B, T) labels")
    grid = labels.reshape(sample_shape)
    shifted = np.full(grid.shape, ignore_index, dtype=np.int64)
    shifted[..., :-1] = grid[..., 1:]
    flat = shifted.reshape(-1)
    valid = flat != ignore_index
    log_p = log_softmax(x.astype(np.float32).astype(np.float64), axis=1)
    losses = np.where(valid, -log_p[np.arange(len(flat)), np.where(valid, flat, 0)], 0.0)
    weighted = losses if sample_weight is None else losses * np.repeat(sample_weight, len(flat) // len(sample_weight))
    numerator, denominator = _reduce(weighted, reduction, float(np.count_nonzero(valid)))
    notes = (
        "transformers shifts the labels one position left inside the loss (token t is scored on label t + 1)",
        "transformers upcasts the logits to float32",
    )
    return ConventionResult("transformers-causal-lm", weighted, numerator, denominator, notes)
