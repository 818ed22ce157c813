"""A ``.npy`` file's array, read with ordinary reads, block by block: never memory-mapped.

A file larger than memory streams through the evaluation a block at a time,
and a file that another process truncates while it is read is a clear error
(a memory map would kill the process with SIGBUS). Reads use ``os.pread``, so
the evaluation's threads can read blocks at once. Anything that needs the whole
array gets it through ``numpy.asarray`` (``__array__``).
"""

from __future__ import annotations

import math
import os
import weakref
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ce_cli.errors import InputError


class NpyFile:
    """The array of a ``.npy`` file whose header has been checked.

    Attributes:
        shape, dtype, fortran: as the header says.
        label: how messages name the file.
    """

    def __init__(
        self, path: str, shape: tuple[int, ...], dtype: np.dtype[Any], fortran: bool, offset: int, label: str
    ) -> None:
        self.shape = shape
        self.dtype = dtype
        self.fortran = fortran
        self.label = label
        self._offset = offset
        self._descriptor = os.open(path, os.O_RDONLY)
        weakref.finalize(self, os.close, self._descriptor)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def _read(self, start: int, count: int) -> NDArray[Any]:
        """``count`` items from item ``start`` of the data, as a flat array."""
        size = count * self.dtype.itemsize
        data = os.pread(self._descriptor, size, self._offset + start * self.dtype.itemsize)
        if len(data) < size:
            raise InputError(f"{self.label} changed while it was read: it ends before its header says it does")
        return np.frombuffer(data, dtype=self.dtype)

    def leading(self, start: int, stop: int) -> NDArray[Any]:
        """``array[start:stop]`` along the first axis (one read in C order, one per column in Fortran order)."""
        rest = self.shape[1:]
        count = stop - start
        if not self.fortran:
            return self._read(start * math.prod(rest), count * math.prod(rest)).reshape((count, *rest))
        if len(self.shape) != 2:  # a Fortran-ordered K-dimensional file: read whole
            return np.asarray(self)[start:stop]
        rows, columns = self.shape
        out = np.empty((count, columns), dtype=self.dtype)
        for column in range(columns):
            out[:, column] = self._read(column * rows + start, count)
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> NDArray[Any]:
        whole = self._read(0, math.prod(self.shape)).reshape(self.shape, order="F" if self.fortran else "C")
        return whole if dtype is None else whole.astype(dtype)
