"""NumPy's files: ``.npy`` (read block by block, never memory-mapped) and ``.npz`` archives.

Headers are checked before any data is read or allocated: object dtypes
(pickles) are refused without unpickling, and data shorter than the header
promises is reported as truncated. An ``.npz`` member is inflated straight into
the array its header describes.

A ``.npy`` file's array (:class:`NpyFile`) is read with ordinary reads, block by
block: a file larger than memory streams through the evaluation a block at a
time, and a file that another process truncates while it is read is a clear
error (a memory map would kill the process with SIGBUS). Reads use
``os.pread``, so the evaluation's threads can read blocks at once. Anything
that needs the whole array gets it through ``numpy.asarray`` (``__array__``).
"""

from __future__ import annotations

import io
import lzma
import math
import os
import zipfile
import zlib
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

from ce_cli.errors import InputError
from ce_cli.io.positional_files import PositionalFile

NPY_MAGIC = b"\x93NUMPY"
_READ_BLOCK = 1 << 20  # a zip member is inflated into its array in blocks of this size


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
        self.file = PositionalFile(path)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def _read(self, start: int, count: int) -> NDArray[Any]:
        """``count`` items from item ``start`` of the data, as a flat array."""
        size = count * self.dtype.itemsize
        data = self.file.pread(size, self._offset + start * self.dtype.itemsize)
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


def open_npy(handle: IO[bytes], path: str, label: str) -> NDArray[Any] | NpyFile:
    """A .npy file after the same header checks as :func:`read_npy`, read later block by block.

    Reading blocks with ordinary reads lets a file larger than memory stream
    through the evaluation, and turns a file truncated by another process while
    it is read into an error (a memory map would end the process with SIGBUS).
    """
    handle.seek(0)
    size = os.fstat(handle.fileno()).st_size
    if size == 0:
        raise InputError(f"{label} is empty")
    if handle.read(6) != NPY_MAGIC:
        raise InputError(f"{label} is not a .npy file (no NumPy header)")
    handle.seek(0)
    shape, fortran, dtype = _header(handle, label)
    _check_payload(shape, dtype, size - handle.tell(), label)
    if math.prod(shape) == 0:
        try:
            return np.zeros(shape, dtype=dtype)
        except ValueError as error:  # more dimensions than numpy has, or sizes beyond its index range
            raise InputError(f"{label} has a header numpy cannot make an array of: {error}") from None
    return NpyFile(path, shape, dtype, fortran, handle.tell(), label)


def _check_payload(shape: tuple[int, ...], dtype: np.dtype[Any], available: int, label: str) -> None:
    """Refuse pickled objects, and data shorter than the header promises, before reading any."""
    if dtype.hasobject:
        raise InputError(f"{label} holds Python objects (pickled data), which are never loaded")
    expected = math.prod(shape) * dtype.itemsize
    if available < expected:
        raise InputError(f"{label} is truncated: its header promises {expected} bytes of data, it holds {available}")


def _header(stream: IO[bytes], label: str) -> tuple[tuple[int, ...], bool, np.dtype[Any]]:
    """Read a .npy header: ``(shape, fortran_order, dtype)``, leaving ``stream`` at the data."""
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        elif version == (3, 0):
            raise InputError(f"{label} is a .npy file of format 3.0; ce-loss reads formats 1.0 and 2.0")
        else:
            raise InputError(f"{label} is not a valid .npy file (unknown format version {version})")
    except ValueError as error:
        raise InputError(f"{label} is not a valid .npy file: {error}") from None
    return tuple(int(n) for n in shape), bool(fortran), dtype


def read_npy(data: bytes, label: str) -> NDArray[Any]:
    """A .npy file's array, checked before anything is allocated or unpickled.

    The header is read first: object dtypes (pickles) are refused without
    unpickling, and a header that claims more data than the file holds is
    reported as truncated instead of allocating what it claims.
    """
    stream = io.BytesIO(data)
    shape, _, dtype = _header(stream, label)
    _check_payload(shape, dtype, len(data) - stream.tell(), label)
    stream.seek(0)
    try:
        array: NDArray[Any] = np.load(stream, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise InputError(f"{label} is not a valid .npy file: {error}") from None
    return array


def _listing(names: list[str], most: int = 10) -> str:
    """Names for a message: the first ``most``, then how many more."""
    shown = ", ".join(names[:most]) or "none"
    return shown if len(names) <= most else f"{shown}, ... ({len(names) - most} more)"


def read_npz(data: bytes, key: str | None, label: str) -> NpzMember:
    """One array of a .npz archive (a zip of .npy files), its header read and its data inflated when asked
    for (:class:`NpzMember`): a member whose shape cannot fit is refused before it costs its array.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = {name[: -len(".npy")]: name for name in archive.namelist() if name.endswith(".npy")}
            if key is None:
                if len(members) != 1:
                    listing = _listing(list(members))
                    raise InputError(f"{label} holds {len(members)} arrays ({listing}); name one as FILE.npz:KEY")
                key = next(iter(members))
            if key not in members:
                raise InputError(f"{label} has no array '{key}' (it holds: {_listing(list(members))})")
            info = archive.getinfo(members[key])
            with archive.open(info) as stream:
                shape, _, dtype = _header(stream, f"{label} (array '{key}')")
            return NpzMember(data, members[key], shape, dtype, f"{label} (array '{key}')")
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        lzma.LZMAError,
        NotImplementedError,
        OSError,
        EOFError,
        RuntimeError,
    ) as error:  # a damaged archive, a damaged or unsupported compressed member
        raise InputError(f"{label} is not a valid .npz file (a zip of .npy files): {error}") from None


class NpzMember:
    """An array of a ``.npz`` archive whose header has been read: its shape and dtype now, its data when
    first asked for (``numpy.asarray``), inflated straight into the array its header describes, once.

    Attributes:
        shape, dtype: as the member's header says.
        label: how messages name it.
    """

    def __init__(self, data: bytes, member: str, shape: tuple[int, ...], dtype: np.dtype[Any], label: str) -> None:
        self._data, self._member = data, member
        self.shape, self.dtype, self.label = shape, dtype, label
        self._array: NDArray[Any] | None = None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __array__(self, dtype: Any = None, copy: Any = None) -> NDArray[Any]:
        if self._array is None:
            try:
                with zipfile.ZipFile(io.BytesIO(self._data)) as archive:
                    info = archive.getinfo(self._member)
                    with archive.open(info) as stream:
                        self._array = _inflate_npy(stream, info.file_size, self.label)
            except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, NotImplementedError, OSError, EOFError) as error:
                raise InputError(f"{self.label} is not a valid .npz file (a zip of .npy files): {error}") from None
        return self._array if dtype is None else self._array.astype(dtype)


def _inflate_npy(stream: IO[bytes], size: int, label: str) -> NDArray[Any]:
    """A .npy member read from ``stream`` (``size`` bytes in all) into an array allocated from its header."""
    shape, fortran, dtype = _header(stream, label)
    _check_payload(shape, dtype, size - stream.tell(), label)
    try:
        array = np.empty(shape, dtype=dtype, order="F" if fortran else "C")
    except ValueError as error:
        raise InputError(f"{label} has a header numpy cannot make an array of: {error}") from None
    # The bytes in the order the file holds them, filled a block at a time (a zip member's readinto
    # reads what it is asked for into a bytes object first: one call for all would hold the data twice).
    target = (array.T if fortran else array).data.cast("B")
    filled = 0
    while filled < len(target):
        got = stream.readinto(target[filled : filled + _READ_BLOCK])  # type: ignore[attr-defined]
        if not got:
            raise InputError(f"{label} is truncated: its data ends after {filled} of {len(target)} bytes")
        filled += got
    return array
