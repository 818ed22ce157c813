"""Rows of logits with the class axis last, ``(M, C)``, from any layout, made only for the rows asked.

:func:`ce_cli.families.softmax.inputs.validate_inputs` lays every input out as rows. Where the
rows are a view of the input (``(N, C)`` in C order, class axis last,
unbatched) they are that view; otherwise (``(N, C, d1, ...)``, Fortran order,
or a file read block by block) they are a :class:`LayoutRows`, which reads or
copies only the samples of the rows asked for, so such inputs stream through
the evaluation in bounded memory like ``(N, C)``.
"""

from __future__ import annotations

import math
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray


@runtime_checkable
class LeadingReader(Protocol):
    """A source of an array's slices along its first axis (a file read block by block)."""

    shape: tuple[int, ...]
    dtype: np.dtype[Any]

    def leading(self, start: int, stop: int) -> NDArray[Any]: ...


class Rows(Protocol):
    """What the evaluation needs of rows: their shape and dtype, a run of them, or one."""

    @property
    def shape(self) -> tuple[int, ...]: ...

    @property
    def dtype(self) -> np.dtype[Any]: ...

    def __getitem__(self, index: Any, /) -> Any: ...


class LayoutRows:
    """``(M, C)`` rows, class axis last, of an array whose class axis is ``axis``, made only for the rows asked.

    ``rows[a:b]`` reads (or, from an array in memory, copies) only the samples of
    those rows, so a ``(N, C, d1, ...)`` file, a ``(batch, time, vocab)`` file or
    a Fortran-ordered one streams in bounded memory like ``(N, C)``.
    """

    def __init__(self, source: LeadingReader | NDArray[Any], axis: int) -> None:
        self._source = source
        self._axis = axis
        shape = tuple(int(n) for n in source.shape)
        self.num_classes = shape[axis]
        self.shape = (math.prod(shape) // self.num_classes if self.num_classes else 0, self.num_classes)
        self.dtype = source.dtype
        self.ndim = 2
        # rows per index of the first axis (the class axis is never the first here)
        self._per_leading = math.prod(shape[1:]) // self.num_classes if self.num_classes else 0

    def _slab(self, start: int, stop: int) -> NDArray[Any]:
        if isinstance(self._source, np.ndarray):
            return np.asarray(self._source[start:stop])
        return self._source.leading(start, stop)

    def __getitem__(self, index: int | slice) -> NDArray[Any]:
        if isinstance(index, slice):
            start, stop, step = index.indices(self.shape[0])
            if step != 1:
                raise ValueError("rows are read in runs")
        else:
            start = index % self.shape[0] if self.shape[0] else index
            stop = start + 1
        if stop <= start:
            return np.empty((0, self.num_classes), dtype=self.dtype)
        per = self._per_leading
        first, last = start // per, -(-stop // per)
        slab = self._slab(first, last)
        rows = np.moveaxis(slab, self._axis, -1).reshape(-1, self.num_classes)[start - first * per : stop - first * per]
        return rows if isinstance(index, slice) else rows[0]

    def __len__(self) -> int:
        return self.shape[0]

    def __getattr__(self, name: str) -> Any:
        """``block_bounds`` of a source read in chunks of its own, whose rows are these rows."""
        bounds = getattr(self._source, "block_bounds", None) if name == "block_bounds" else None
        if bounds is None or self._per_leading != 1:
            raise AttributeError(name)
        return bounds


class ElementRows:
    """Every element of an array as a row of one, ``(M, 1)`` in C order, made only for the rows asked
    (for the binary family, where each element is its own problem)."""

    def __init__(self, source: LeadingReader | NDArray[Any]) -> None:
        self._source = source
        self._shape = tuple(int(n) for n in source.shape)
        self.shape = (math.prod(self._shape), 1)
        self.dtype = source.dtype
        self.ndim = 2
        self._per_leading = math.prod(self._shape[1:]) if len(self._shape) > 1 else 1

    def __getitem__(self, index: slice) -> NDArray[Any]:
        start, stop, _ = index.indices(self.shape[0])
        if stop <= start:
            return np.empty((0, 1), dtype=self.dtype)
        if isinstance(self._source, np.ndarray):
            return np.asarray(self._source.reshape(-1)[start:stop]).reshape(-1, 1)
        per = self._per_leading
        first, last = start // per, -(-stop // per)
        slab = self._source.leading(first, last).reshape(-1)
        return slab[start - first * per : stop - first * per].reshape(-1, 1)

    def __getattr__(self, name: str) -> Any:
        """``block_bounds`` of a source read in chunks of its own, in elements."""
        bounds = getattr(self._source, "block_bounds", None) if name == "block_bounds" else None
        if bounds is None:
            raise AttributeError(name)
        per = self._per_leading

        def element_bounds() -> list[tuple[int, int]]:
            return [(a * per, b * per) for a, b in bounds()]

        return element_bounds
