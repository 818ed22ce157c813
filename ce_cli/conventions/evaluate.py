"""A convention's loss from a family's validated inputs: which framework function runs, with what.

The inputs are validated by the family as for PyTorch (:mod:`ce_cli.families`), then handed to the
framework's formula in :mod:`ce_cli.conventions.softmax` or :mod:`ce_cli.conventions.binary`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ce_cli.array_types import Float64Array
from ce_cli.conventions import binary, softmax
from ce_cli.conventions.options import ConventionResult, check_convention, refuse
from ce_cli.errors import OptionError, ShapeError

SUPPORTED = {
    "multiclass": ("keras", "keras-tf", "tf-v1", "optax", "sklearn", "fairseq", "transformers-causal-lm"),
    "binary": ("keras", "keras-tf", "tf-v1", "optax"),
}


def per_sample_weight(values: Any, sample_shape: tuple[int, ...], name: str = "--sample-weight") -> Float64Array:
    """One weight per sample: ``(M,)`` over the flat samples, or one per index of the first axis, repeated.

    Raises:
        ShapeError: a length that is neither.
    """
    w = np.asarray(values, dtype=np.float64).reshape(-1)
    count = int(np.prod(sample_shape)) if sample_shape else 1
    if w.size == count:
        return w
    first = sample_shape[0] if sample_shape else 1
    if w.size == first:
        return np.repeat(w, count // first)
    raise ShapeError(f"{name} has {w.size} values; the input has {count} samples ({first} along its first axis)")


def pytorch_with_sample_weight(losses: Float64Array, counted: np.ndarray, weights: Float64Array) -> ConventionResult:
    """PyTorch has no per-sample weight: ``sum w l / sum w`` over the counted samples, said as such."""
    w = np.where(counted, weights, 0.0)
    note = "PyTorch has no per-sample weight: this is sum(w * loss) / sum(w), the weighted mean"
    return ConventionResult("pytorch", losses * w, float(np.sum(losses * w)), float(np.sum(w)), (note,))


def evaluate_convention(
    convention: str,
    task: str,
    inputs: Any,
    *,
    formula: str,
    reduction: str,
    sample_weight: Float64Array | None = None,
    binary_smoothing: float = 0.0,
) -> ConventionResult:
    """``convention``'s loss of a family's validated ``inputs`` (``ValidatedInputs`` or ``BinaryInputs``).

    ``binary_smoothing``: the label smoothing of ``--task binary`` (PyTorch's binary loss has none, so its
    family's inputs do not carry it).

    Raises:
        OptionError: an option the framework does not have, or a task it has no loss for.
    """
    convention = check_convention(convention)
    if task not in SUPPORTED or convention not in SUPPORTED[task]:
        raise OptionError(f"--convention {convention} has no loss for --task {task} in ce-loss")
    logits = formula != "naive"
    if formula not in ("cross_entropy", "naive"):
        raise OptionError(f"--convention {convention} takes --formula cross_entropy (logits) or naive (probabilities)")
    if not logits or convention == "sklearn":  # the framework takes probabilities
        _refuse_non_probabilities(convention, inputs.rows if task == "multiclass" else inputs.values)
    if task == "binary":
        return _binary(
            convention,
            inputs,
            logits=logits,
            reduction=reduction,
            sample_weight=sample_weight,
            smoothing=binary_smoothing,
        )
    return _softmax(convention, inputs, logits=logits, reduction=reduction, sample_weight=sample_weight)


def _refuse_non_probabilities(convention: str, rows: Any) -> None:
    """The framework's probabilities must be probabilities: logits would be clipped into a confident,
    meaningless number (scikit-learn refuses them too).

    Raises:
        InputError: a value outside [0, 1].
    """
    from ce_cli.errors import InputError

    values = np.asarray(rows[:], dtype=np.float64)
    with np.errstate(invalid="ignore"):
        outside = int(np.count_nonzero(~((values >= 0.0) & (values <= 1.0))))
    if outside:
        raise InputError(
            f"--convention {convention} here takes probabilities, and {outside} values are outside [0, 1]; "
            "for logits use --formula cross_entropy"
            + (" (scikit-learn's log_loss takes probabilities only)" if convention == "sklearn" else "")
        )


def _softmax(
    convention: str, inputs: Any, *, logits: bool, reduction: str, sample_weight: Float64Array | None
) -> ConventionResult:
    x = np.asarray(inputs.rows[:], dtype=np.float64)
    t = np.asarray(inputs.targets)
    smoothing = float(inputs.label_smoothing)
    ignoring = not inputs.probability_targets and bool(np.any(t == inputs.ignore_index))
    ignore = inputs.ignore_index if ignoring else None
    weights = sample_weight
    if inputs.weight is not None:
        if convention not in ("keras", "keras-tf", "tf-v1") or inputs.probability_targets:
            raise refuse(convention, "--weight", " (class weights)")
        class_weight = np.asarray(inputs.weight)[np.where(t == inputs.ignore_index, 0, t)]  # fit(class_weight=)
        weights = class_weight if weights is None else weights * class_weight
    if convention in ("keras", "keras-tf"):
        return softmax.keras(
            x, t, tf_backend=convention == "keras-tf", logits=logits, smoothing=smoothing, ignore_index=ignore,
            sample_weight=weights, reduction=reduction,
        )  # fmt: skip
    if not logits and convention != "sklearn":
        raise refuse(convention, "--formula naive", "; its loss takes logits")
    if convention == "sklearn":
        for present, option in ((smoothing > 0.0, "--label-smoothing"), (ignoring, "--ignore-index")):
            if present:
                raise refuse(convention, option)
        return softmax.sklearn(x, t, dtype=inputs.rows.dtype, sample_weight=weights, reduction=reduction)
    if convention == "fairseq":
        return softmax.fairseq(
            x, t, smoothing=smoothing, ignore_index=ignore, sample_weight=weights, reduction=reduction
        )
    if convention == "transformers-causal-lm":
        if smoothing > 0.0:
            raise refuse(convention, "--label-smoothing")
        return softmax.transformers_causal_lm(
            x, t, inputs.sample_shape, ignore_index=inputs.ignore_index, sample_weight=weights, reduction=reduction
        )
    if ignoring:
        raise refuse(convention, "--ignore-index")
    if convention == "tf-v1":
        return softmax.tf_v1(x, t, smoothing=smoothing, sample_weight=weights, reduction=reduction)
    return softmax.optax(x, t, smoothing=smoothing, sample_weight=weights, reduction=reduction)


def _binary(
    convention: str, inputs: Any, *, logits: bool, reduction: str, sample_weight: Float64Array | None, smoothing: float
) -> ConventionResult:
    shape = inputs.shape
    x = np.asarray(inputs.values[:], dtype=np.float64).reshape(shape)
    y = np.asarray(inputs.targets, dtype=np.float64).reshape(shape)
    if inputs.pos_weight is not None:
        raise refuse(convention, "--pos-weight")
    if inputs.weight is not None:
        raise refuse(convention, "--weight", " for --task binary (give --sample-weight)")
    if convention in ("keras", "keras-tf"):
        return binary.keras(
            x, y, tf_backend=convention == "keras-tf", logits=logits, smoothing=smoothing,
            sample_weight=sample_weight, reduction=reduction,
        )  # fmt: skip
    if not logits:
        raise refuse(convention, "--formula naive", "; its loss takes logits")
    if convention == "tf-v1":
        return binary.tf_v1(x, y, smoothing=smoothing, sample_weight=sample_weight, reduction=reduction)
    if smoothing > 0.0:
        raise refuse(convention, "--label-smoothing", " for --task binary")
    return binary.optax(x, y, sample_weight=sample_weight, reduction=reduction)
