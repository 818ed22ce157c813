"""The max-shifted log-sum-exp of a block of rows, in the layout that is fastest for it.

Pure numpy. For a block of logits ``x`` of shape ``(B, C)`` it computes, in
float64 whatever the input dtype,

- ``z = x - m`` with ``m = max(x)`` per row (every entry <= 0, the maximum
  exactly 0; a row holding NaN or +inf, or only -inf, gives NaN throughout,
  as PyTorch's log-softmax does);
- ``lse_z = log(sum_j exp(z_j)) = logsumexp(x) - m``, as ``log1p(s)`` where
  ``s`` is the sum of the terms other than one maximum's (which is exactly 1),
  summed apart from it: ``sum - 1`` would cost ``s`` an absolute 1e-16, which is
  1e-13 relative at ``s = 1e-3``, and all of a confident prediction's loss
  (about ``s``). The compiled kernel (``ce_cli/native``) sums the same way.

:class:`ShiftedBlock` does this for the formulas (:mod:`ce_cli.formulas`);
:func:`logsumexp` and :func:`log_softmax` do the same along any axis of any
array, for the public API and ``explain``.

Rows with many classes are worked row by row (``(B, C)``, reductions along the
contiguous last axis). Rows with few classes are transposed to ``(C, B)``:
reducing along a short axis costs numpy a call per row, while reducing across
``C`` rows of length ``B`` is a handful of vectorised passes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ce_cli.arguments import real_array, whole_number
from ce_cli.array_types import Float64Array, IndexArray
from ce_cli.errors import OptionError

SMALL_C = 16  # up to this many classes, work class-major (C, B)
EXP_OVERFLOW = float(np.log(np.finfo(np.float64).max))  # exp(x) is inf in float64 beyond ~709.78


def nan_ranked(x: NDArray[Any], targets: IndexArray, ranks: IndexArray) -> IndexArray:
    """``ranks`` (1 + the classes whose logit is strictly greater than the target's) with NaN ordered as
    ``torch.topk`` orders it: above every number. A target whose own logit is NaN is never ranked within
    the classes (rank ``C + 1``), as its row has no prediction (the accuracy counts it wrong too).

    Args:
        x: ``(B, C)`` logits of a block. targets: ``(B,)`` class indices in ``[0, C)``.
        ranks: ``(B,)`` ranks as comparisons give them, NaN counted below everything; changed in place.
    """
    with np.errstate(invalid="ignore"):
        rows = np.flatnonzero(np.isnan(np.max(x, axis=1)))
    if rows.size:
        nan = np.isnan(np.asarray(x[rows], dtype=np.float64))
        own = nan[np.arange(rows.size), targets[rows]]
        ranks[rows] = np.where(own, x.shape[1] + 1, ranks[rows] + np.count_nonzero(nan, axis=1))
    return ranks


class ShiftedBlock:
    """``z = x - max(x)`` for a ``(B, C)`` block of rows, with its log-sum-exp.

    Built once per block; each formula reads what it needs from it.

    Attributes:
        num_classes: ``C``.
        class_major: whether ``z`` is stored ``(C, B)`` (few classes) or ``(B, C)``.
        row_index: ``(B,)`` ``0..B-1``, for picking one class per row.
        maximum: ``(B,)`` the row maxima ``m``.
        argmax: ``(B,)`` the first class holding each row's maximum (a NaN counts
            as the maximum, as in ``np.argmax``), or ``None`` when not asked for.
        ranks: ``(B,)`` 1 + the number of classes whose logit is strictly greater than
            the target's, or ``None`` when not asked for.
        targets: ``(B,)`` the class per row the block was built with.
        target_z: ``(B,)`` ``z`` at each row's target class; exactly 0 where the
            target's logit is the row maximum.
        lse_z: ``(B,)`` ``logsumexp(x) - m``.
    """

    def __init__(
        self, x: NDArray[Any], targets: IndexArray, *, keep_z: bool, argmax: bool = False, ranks: bool = False
    ) -> None:
        """Shift and reduce ``x``.

        Args:
            x: ``(B, C)`` logits, any floating dtype.
            targets: ``(B,)`` a class per row, whose ``z`` is kept in ``target_z``.
            keep_z: keep ``z`` for :attr:`z` and the row reductions; without it
                ``z`` is exponentiated in place, which saves a block-sized array.
            argmax: compute :attr:`argmax` (free in the row layout, which finds
                the maximum through it; a few vector passes class-major).
            ranks: compute :attr:`ranks` (one pass over the block).
        """
        count, self.num_classes = x.shape
        self.row_index = np.arange(count)
        self.targets = targets
        self.class_major = self.num_classes <= SMALL_C
        self.argmax: IndexArray | None = None
        self.ranks: IndexArray | None = None
        with np.errstate(invalid="ignore", over="ignore"):
            if self.class_major:
                z = np.array(x.T, dtype=np.float64, order="C")  # (C, B)
                m = np.max(z, axis=0)
                if argmax:
                    self.argmax = _first_maximum(z, m)
                if ranks:
                    self.ranks = nan_ranked(x, targets, 1 + np.count_nonzero(z > self._pick(z, targets), axis=0))
                np.subtract(z, m, out=z)
            else:
                top = np.argmax(x, axis=1)  # as fast as np.max here, and the maximum is x[top]
                self.argmax = top if argmax else None
                if ranks:
                    above = np.count_nonzero(x > x[self.row_index, targets][:, None], axis=1)
                    self.ranks = nan_ranked(x, targets, 1 + above)
                m = x[self.row_index, top].astype(np.float64)
                z = np.subtract(x, m[:, None], dtype=np.float64)
            self.maximum: Float64Array = m
            self.target_z: Float64Array = self._pick(z, targets)
            # The terms other than one maximum's (which is exactly 1), summed apart from it.
            at_maximum = (z == 0.0) if self.class_major else None
            terms = np.exp(z, out=None if keep_z else z)
            self._z: Float64Array | None = z if keep_z else None
            if at_maximum is None:
                np.put_along_axis(terms, top[:, None], 0.0, axis=1)
                rest = self.row_sum(terms)
                rest[m == np.inf] = np.nan  # its own term, inf - inf, was the NaN just left out: NaN, as in PyTorch
            else:  # every maximum's term left out, and all but one added back as whole ones
                np.copyto(terms, 0.0, where=at_maximum)
                rest = self.row_sum(terms) + (np.count_nonzero(at_maximum, axis=0) - 1.0)
            self.lse_z: Float64Array = np.log1p(rest)

    @property
    def z(self) -> Float64Array:
        """The shifted logits in this block's layout; only for a block built with ``keep_z=True``."""
        if self._z is None:
            raise RuntimeError("z was exponentiated in place: build the block with keep_z=True to read it")
        return self._z

    def _pick(self, values: Float64Array, classes: IndexArray) -> Float64Array:
        picked: Float64Array = values[classes, self.row_index] if self.class_major else values[self.row_index, classes]
        return picked

    def take(self, classes: IndexArray, values: Float64Array | None = None) -> Float64Array:
        """``values[i, classes[i]]`` per row (``values`` defaults to ``z``)."""
        return self._pick(self.z if values is None else values, classes)

    def row_sum(self, values: Float64Array | None = None) -> Float64Array:
        """``sum_c values[i, c]`` per row (``values`` defaults to ``z``)."""
        source = self.z if values is None else values
        total: Float64Array = np.sum(source, axis=0 if self.class_major else 1)
        return total

    def row_dot(self, weight: Float64Array, values: Float64Array | None = None) -> Float64Array:
        """``sum_c weight[c] * values[i, c]`` per row (``values`` defaults to ``z``)."""
        source = self.z if values is None else values
        product: Float64Array = weight @ source if self.class_major else source @ weight
        return product

    def in_layout(self, values: NDArray[Any]) -> Float64Array:
        """A ``(B, C)`` array in this block's layout, as float64."""
        converted: Float64Array = np.asarray(values.T if self.class_major else values, dtype=np.float64)
        return converted

    def log_probs(self) -> Float64Array:
        """The full ``log_softmax`` block, ``z - lse_z``, in this block's layout."""
        column = self.lse_z if self.class_major else self.lse_z[:, None]
        out: Float64Array = self.z - column
        return out


def _first_maximum(columns: Float64Array, maximum: Float64Array) -> IndexArray:
    """``np.argmax`` over the rows of a ``(C, B)`` array in ``C`` vector passes (numpy's own
    argmax along a non-contiguous axis copies the array): the first class equal to the maximum,
    or the first NaN where the maximum is NaN."""
    last = columns.shape[0] - 1
    first = np.full(columns.shape[1], last, dtype=np.intp)
    for c in range(last - 1, -1, -1):  # np.where beats a masked assignment here by about 2x
        first = np.where(columns[c] == maximum, c, first)
    nan_rows = np.flatnonzero(np.isnan(maximum))  # rare: rows holding a NaN, whose argmax is the first NaN
    if nan_rows.size:
        first[nan_rows] = np.argmax(np.isnan(columns[:, nan_rows]), axis=0)
    return first


def _sum_leaving_out(terms: Float64Array, top: IndexArray, axis: int) -> Float64Array:
    """``sum(terms)`` along ``axis`` without the term at ``top`` (dims kept); ``terms`` is overwritten.

    The one core of every log-sum-exp here: after the shift the maximum's term is
    exactly 1, and summing the others apart keeps them when they are far below
    the float64 epsilon (a confident, correct prediction has a loss of about
    their sum, not 0).
    """
    np.put_along_axis(terms, top, 0.0, axis=axis)
    total: Float64Array = np.sum(terms, axis=axis, keepdims=True)
    return total


def _log_sum_exp_shifted(z: Float64Array, axis: int) -> Float64Array:
    """``log sum_j exp(z_j)`` for rows whose maximum is 0, keeping dims.

    ``log1p`` of the terms other than the maximum's (:func:`_sum_leaving_out`).
    Adding ``z`` at the maximum (0, or NaN for a row whose maximum was infinite
    or NaN) propagates NaN as PyTorch's log-softmax does.
    """
    top = np.argmax(z, axis=axis, keepdims=True)
    out: Float64Array = np.log1p(_sum_leaving_out(np.exp(z), top, axis)) + np.take_along_axis(z, top, axis=axis)
    return out


def _shift(x: ArrayLike, axis: int) -> tuple[Float64Array, Float64Array]:
    """``(z, log sum exp(z))`` with ``z = x - max(x)`` along ``axis`` (dims kept), in float64.

    A row whose maximum is infinite or NaN gives NaN, as PyTorch's log-softmax does.
    """
    x64 = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        z = x64 - np.max(x64, axis=axis, keepdims=True)
        return z, _log_sum_exp_shifted(z, axis)


def _array_and_axis(x: ArrayLike, axis: int) -> tuple[Float64Array, int]:
    """``x`` as float64 (at least 1-D) and ``axis`` as a non-negative axis of it.

    Raises:
        InputError: ``x`` is not an array of real numbers. OptionError: no such axis.
        TypeError: ``axis`` is not an integer.
    """
    x64: Float64Array = np.atleast_1d(real_array(x, "x").astype(np.float64))
    axis = whole_number(axis, "axis")
    if not -x64.ndim <= axis < x64.ndim:
        raise OptionError(f"axis {axis} is out of range for an array of {x64.ndim} dimensions")
    return x64, axis % x64.ndim


def logsumexp(x: ArrayLike, axis: int = -1) -> Float64Array:
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
    x64, axis = _array_and_axis(x, axis)
    if x64.shape[axis] == 0:  # an empty sum: log 0, as torch.logsumexp gives
        empty: Float64Array = np.full(np.delete(x64.shape, axis), -np.inf)
        return empty
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        m = np.max(x64, axis=axis, keepdims=True)
        m = np.where(np.isinf(m), 0.0, m)
        out = _log_sum_exp_shifted(x64 - m, axis) + m
    squeezed: Float64Array = np.squeeze(out, axis=axis)
    return squeezed


def log_softmax(x: ArrayLike, axis: int = -1) -> Float64Array:
    """``log softmax(x) = (x - m) - log sum_j exp(x_j - m)`` along ``axis``.

    Never ``log(softmax(x))``, which underflows to ``-inf`` for small
    probabilities. A row whose maximum is infinite or NaN gives NaN, as in PyTorch.

    Args:
        x: an array of any shape; computed in float64.
        axis: the class axis.

    Returns:
        float64 array of ``x``'s shape.
    """
    x64, axis = _array_and_axis(x, axis)
    if x64.shape[axis] == 0:  # no classes: nothing to normalise, as torch.log_softmax gives
        return x64
    z, lse_z = _shift(x64, axis)
    out: Float64Array = z - lse_z
    return out
