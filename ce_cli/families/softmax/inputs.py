"""Check arrays against each other and lay them out for the formulas.

Pure numpy: no I/O, no printing. :func:`validate_inputs` is the one gate every
computation passes, from the Python API and from the command line alike, so
both report the same errors for the same inputs.

Layout conventions (PyTorch's ``torch.nn.functional.cross_entropy``):

- ``logits``: ``(N, C)``, ``(N, C, d1, ..., dk)`` or unbatched ``(C,)``; the
  class axis is ``class_axis`` (1 by default; 0 for unbatched input).
- index ``targets``: the logits' shape without the class axis, whole numbers
  in ``[0, C)`` or ``ignore_index``.
- probability ``targets``: exactly the logits' shape.
- ``weight``: ``(C,)``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ce_cli.arguments import real_array, real_number, whole_number
from ce_cli.errors import (
    ClassAxisError,
    IntegerProbabilityTargetError,
    OneClassTargetError,
    OptionError,
    ShapeError,
    TargetError,
)
from ce_cli.layout import LayoutRows, LeadingReader, Rows
from ce_cli.records import frozen

_INT64_LIMIT = 2.0**63
FLOAT64 = np.dtype(np.float64)

# PyTorch's defaults, which the API, the input loader and the command line all take from here.
DEFAULT_IGNORE_INDEX = -100
DEFAULT_LABEL_SMOOTHING = 0.0
DEFAULT_CLASS_AXIS = 1


@frozen
class ValidatedInputs:
    """Validated inputs, flattened to rows with the class axis last.

    Attributes:
        rows: ``(M, C)`` logits in their input floating dtype: a view where
            possible, else made block by block (:mod:`ce_cli.layout`); ``M``
            is the number of samples.
        targets: ``(M,)`` int64 class indices, or ``(M, C)`` float64
            probabilities when ``probability_targets`` is true.
        probability_targets: whether ``targets`` are probabilities.
        weight: ``(C,)`` float64 class weights, or ``None``.
        ignore_index: index targets equal to it contribute nothing.
        label_smoothing: ``E`` in ``[0, 1]``.
        logits_shape: the shape the logits arrived in.
        sample_shape: the shape of the per-sample losses (the logits' shape
            without the class axis).
        target_dtype: the dtype the targets were given in (probabilities are checked to its precision).
        targets_checked: whether index targets were checked against ``[0, C)``; if not, the evaluation
            refuses one outside it as it reads them (:func:`ce_cli.families.softmax.losses.evaluate`),
            with the message :func:`validate_inputs` gives.
        targets_name: how messages name the targets.
    """

    rows: Rows
    targets: NDArray[Any]
    probability_targets: bool
    weight: NDArray[np.float64] | None
    ignore_index: int
    label_smoothing: float
    logits_shape: tuple[int, ...]
    sample_shape: tuple[int, ...]
    target_dtype: np.dtype[Any] = FLOAT64
    targets_checked: bool = True
    targets_name: str = "targets"

    @property
    def num_classes(self) -> int:
        """``C``, the length of the class axis."""
        return int(self.rows.shape[1])

    @property
    def num_samples(self) -> int:
        """``M``, the number of per-sample losses."""
        return int(self.rows.shape[0])

    @property
    def counted(self) -> NDArray[np.bool_]:
        """``(M,)`` mask of the samples that count (whose target is not the ignore index)."""
        if self.probability_targets:
            return np.ones(self.num_samples, dtype=bool)
        mask: NDArray[np.bool_] = self.targets != self.ignore_index
        return mask


def _position(flat_index: int, shape: tuple[int, ...]) -> str:
    """Human-readable position of a flat index in ``shape``."""
    if len(shape) <= 1:
        return str(flat_index)
    return str(tuple(int(i) for i in np.unravel_index(flat_index, shape)))


def _class_axis(shape: tuple[int, ...], class_axis: int, name: str) -> int:
    """Normalise ``class_axis`` for an array of ``shape``."""
    ndim = len(shape)
    if ndim == 0:
        raise ShapeError(f"{name} is a single number; it needs a class axis of length C")
    if ndim == 1:
        if class_axis not in (-1, 0, 1):
            raise OptionError(f"class axis {class_axis} is out of range for unbatched (C,) {name}")
        return 0
    if not -ndim <= class_axis < ndim:
        raise OptionError(f"class axis {class_axis} is out of range for {name} of shape {shape}")
    return class_axis % ndim


def _check_whole(flat: NDArray[np.floating[Any]], sample_shape: tuple[int, ...], name: str) -> None:
    """Refuse float targets that are not finite whole numbers within int64."""
    flat = flat.astype(np.float64, copy=False)  # 2**63 overflows float16 and float32 comparisons
    finite = np.isfinite(flat)
    in_range = finite & (np.abs(np.where(finite, flat, 0.0)) < _INT64_LIMIT)
    whole = in_range & (flat == np.round(flat))
    if whole.all():
        return
    first = int(np.argmin(whole))
    value, where = float(flat[first]), _position(first, sample_shape)
    if not finite[first]:
        reason = "is not a finite number"
    elif not in_range[first]:
        reason = "is beyond int64"
    else:
        reason = "is not a whole number"
    raise TargetError(f"{name} must be whole class indices; {value!r} at position {where} {reason}")


def _shape_error(targets: NDArray[Any], logits_shape: tuple[int, ...], axis: int, name: str) -> ShapeError:
    """Targets of the wrong shape; a :class:`ClassAxisError` when another class axis would fit them."""
    sample_shape = logits_shape[:axis] + logits_shape[axis + 1 :]
    message = (
        f"{name} have shape {tuple(targets.shape)}, but the logits need class indices of shape "
        f"{sample_shape} (or probabilities of the logits' own shape)"
    )
    ndim = len(logits_shape)
    for other in (1, ndim - 1, *range(ndim)):
        if other != axis and ndim > 1 and targets.shape == logits_shape[:other] + logits_shape[other + 1 :]:
            fits = -1 if other == ndim - 1 and other != 1 else other
            return ClassAxisError(f"{message}; they fit class axis {fits}", fits)
    return ShapeError(message)


def _check_declared_shape(targets: Any, logits_shape: tuple[int, ...], axis: int, name: str) -> None:
    """Refuse targets read lazily (an ``.npz`` member) whose declared shape cannot fit, before they are read.

    Raises:
        ShapeError: neither the logits' shape nor as many values as there are samples.
    """
    declared = getattr(targets, "shape", None)
    if isinstance(targets, np.ndarray) or declared is None or not hasattr(targets, "__array__"):
        return
    declared = tuple(int(n) for n in declared)
    samples = math.prod(logits_shape) // logits_shape[axis] if logits_shape[axis] else 0
    if declared != logits_shape and math.prod(declared) != samples:
        raise _shape_error(np.broadcast_to(np.int64(0), declared), logits_shape, axis, name)  # a view: no data


def first_out_of_range(indices: NDArray[np.int64], ignore_index: int, num_classes: int) -> int | None:
    """The first position of an index outside ``[0, num_classes)`` that is not ``ignore_index``, or ``None``.

    Two passes without temporaries (the smallest and largest index) settle the common case.
    """
    if indices.size == 0 or (int(indices.min()) >= 0 and int(indices.max()) < num_classes):
        return None
    out_of_range = (indices != ignore_index) & ((indices < 0) | (indices >= num_classes))
    return int(np.argmax(out_of_range)) if out_of_range.any() else None


def _index_targets(
    targets: NDArray[Any],
    logits_shape: tuple[int, ...],
    axis: int,
    ignore_index: int,
    name: str,
    check_range: bool = True,
) -> NDArray[np.int64]:
    """Check class-index targets for logits of ``logits_shape`` (class axis ``axis``); return them as ``(M,)`` int64.

    ``check_range=False`` leaves the range ``[0, C)`` to the evaluation.
    """
    sample_shape = logits_shape[:axis] + logits_shape[axis + 1 :]
    num_classes = logits_shape[axis]
    if targets.shape != sample_shape:
        count = int(np.prod(sample_shape))
        if targets.ndim <= 1 and targets.size == count:
            targets = targets.reshape(sample_shape)
        else:
            raise _shape_error(targets, logits_shape, axis, name)
    flat = targets.reshape(-1)
    if flat.dtype.kind == "f":
        _check_whole(flat, sample_shape, name)
    elif flat.dtype.kind == "u" and flat.size and flat.max() > np.iinfo(np.int64).max:
        beyond = int(np.argmax(flat > np.iinfo(np.int64).max))
        raise TargetError(f"{name}: {int(flat[beyond])} at position {_position(beyond, sample_shape)} is beyond int64")
    indices = flat.astype(np.int64, copy=False)
    if check_range:
        refuse_out_of_range(indices, ignore_index, num_classes, name, sample_shape)
    return indices


def refuse_out_of_range(
    indices: NDArray[np.int64], ignore_index: int, num_classes: int, name: str, sample_shape: tuple[int, ...]
) -> None:
    """A :class:`TargetError` naming the first index outside ``[0, num_classes)`` that is not ``ignore_index``.

    Raises:
        TargetError: (``OneClassTargetError`` for one class) with the row as ``error.row``.
    """
    first = first_out_of_range(indices, ignore_index, num_classes)
    if first is not None:
        error = (OneClassTargetError if num_classes == 1 else TargetError)(
            f"{name}: class {int(indices[first])} at position {_position(first, sample_shape)} is out of range "
            f"for {num_classes} classes (valid: 0..{num_classes - 1}, or the ignore index {ignore_index})"
        )
        error.row = first
        raise error


def _rows(x: Any, axis: int, num_classes: int) -> Rows:
    """``(M, C)`` rows with the class axis last: a view where the layout allows one, else made block by block."""
    if isinstance(x, np.ndarray):
        moved = np.moveaxis(x, axis, -1)
        if moved.flags.c_contiguous or x.ndim == 1 or axis == 0:
            rows: NDArray[Any] = moved.reshape(-1, num_classes)
            return rows
    return LayoutRows(x, axis)


def validate_inputs(
    logits: ArrayLike | LeadingReader,
    targets: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    ignore_index: int = DEFAULT_IGNORE_INDEX,
    label_smoothing: float = DEFAULT_LABEL_SMOOTHING,
    class_axis: int = DEFAULT_CLASS_AXIS,
    names: tuple[str, str, str] = ("logits", "targets", "weight"),
    check_range: bool = True,
) -> ValidatedInputs:
    """Validate inputs with PyTorch's rules and lay them out as rows.

    Args:
        logits: ``(N, C)``, ``(N, C, d1, ..., dk)`` or ``(C,)`` real numbers.
        targets: class indices of the logits' shape without the class axis
            (whole-number floats are accepted; a flat array of the right size
            is reshaped), or probabilities of exactly the logits' shape, in a
            floating dtype (integers of that shape are refused, as PyTorch does).
        weight: ``(C,)`` class weights, or ``None``.
        ignore_index: index targets equal to it are left out.
        label_smoothing: ``E`` in ``[0, 1]``.
        class_axis: the class axis of ``logits``; ignored for ``(C,)`` input.
        names: how messages name the logits, targets and weight.
        check_range: ``False`` leaves index targets outside ``[0, C)`` to
            :func:`ce_cli.families.softmax.losses.evaluate`, which refuses them in the same pass as the
            losses, with the same message (one read of the targets, not three); only that function
            may take such inputs.

    Raises:
        ShapeError, TargetError, OptionError: with a message naming the input.
    """
    logits_name, targets_name, weight_name = names
    ignore_index = whole_number(ignore_index, "ignore_index")
    class_axis = whole_number(class_axis, "class_axis")
    label_smoothing = real_number(label_smoothing, "label_smoothing")
    if isinstance(logits, LeadingReader) and logits.dtype.kind == "f" and len(logits.shape) >= 2:
        x: Any = logits  # a file read block by block: only its shape and dtype are needed here
    else:
        x = real_array(logits, logits_name)
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
    axis = _class_axis(tuple(x.shape), class_axis, logits_name)
    num_classes = int(x.shape[axis])
    if num_classes == 0:
        raise ShapeError(f"{logits_name} have no classes (the class axis has length 0)")
    sample_shape = tuple(int(n) for i, n in enumerate(x.shape) if i != axis)
    rows = _rows(x, axis, num_classes)

    if not 0.0 <= label_smoothing <= 1.0:  # also refuses NaN
        raise OptionError(f"label smoothing must be in [0, 1], not {label_smoothing}")

    _check_declared_shape(targets, tuple(int(n) for n in x.shape), axis, targets_name)
    t = real_array(targets, targets_name)
    probability_targets = t.shape == x.shape
    if probability_targets and t.dtype.kind in "iu":
        raise IntegerProbabilityTargetError(
            f"{targets_name} are integers of the logits' own shape {tuple(x.shape)}, which PyTorch takes as class "
            'probabilities and refuses in an integer type ("Expected floating point type for target with class '
            'probabilities, got Long")'
        )
    if probability_targets:
        if ignore_index >= 0:
            raise OptionError(
                f"ignore index {ignore_index} cannot be used with probability targets "
                "(PyTorch allows only a negative ignore index there)"
            )
        flat_targets: NDArray[Any] = np.moveaxis(t.astype(np.float64, copy=False), axis, -1).reshape(-1, num_classes)
    else:
        flat_targets = _index_targets(t, tuple(int(n) for n in x.shape), axis, ignore_index, targets_name, check_range)

    w: NDArray[np.float64] | None = None
    if weight is not None:
        given = real_array(weight, weight_name)
        w = given.astype(np.float64).reshape(-1) if given.ndim <= 1 else None
        if w is None or w.shape != (num_classes,):
            raise ShapeError(
                f"{weight_name} has shape {given.shape}, but there are {num_classes} classes; it needs ({num_classes},)"
            )

    return ValidatedInputs(
        rows=rows,
        targets=flat_targets,
        probability_targets=probability_targets,
        weight=w,
        ignore_index=int(ignore_index),
        label_smoothing=float(label_smoothing),
        logits_shape=tuple(int(n) for n in x.shape),
        sample_shape=sample_shape,
        target_dtype=t.dtype,
        targets_checked=check_range or probability_targets,
        targets_name=targets_name,
    )
