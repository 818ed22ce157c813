"""Tensors in the files models are saved in: safetensors, PyTorch's ``.pt`` and Parquet columns.

- ``file.safetensors:key``: read by ce-loss itself (the format is an 8-byte little-endian header length,
  a JSON header ``{name: {dtype, shape, data_offsets}}``, then the raw little-endian buffers), memory-mapped;
  bfloat16 widened to float32 exactly (its bits are float32's upper half). No package needed.
- ``file.pt[:key]``: ``torch.load(..., weights_only=True)`` (never an arbitrary unpickle) when torch is
  installed; ``a.b`` for nested dicts; a tensor of any dtype (bfloat16 widened to float32, exactly);
  anything but tensors, dicts and lists is refused by name.
- ``file.parquet[:column]``: with pyarrow (``pip install 'ce-loss[parquet]'``): a list-of-floats column as
  rows, read a row group at a time as the evaluation asks for them (:class:`ParquetRows`), or every
  numeric column as a table whose header names them (so ``--target-column`` works).

Headers and dtypes are checked before data is read; a missing key lists the keys; a truncated file is an
error, not a crash.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ce_cli.errors import InputError

SUFFIXES = (".safetensors", ".pt", ".pth", ".parquet")
_SAFETENSORS_DTYPES = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
    "I8": "i1", "U8": "u1", "BOOL": "?",
}  # fmt: skip


def split_key(src: str) -> tuple[str, str | None]:
    """``"a.pt:key"`` -> ``("a.pt", "key")`` for the suffixes read here (a path that exists stays whole)."""
    head, sep, key = src.rpartition(":")
    if sep and head.lower().endswith(SUFFIXES) and not os.path.exists(src):
        return head, key
    return src, None


def _widen_bfloat16(bits: NDArray[np.uint16]) -> NDArray[np.float32]:
    out: NDArray[np.float32] = (bits.astype(np.uint32) << np.uint32(16)).view(np.float32)
    return out


def read_safetensors(path: str, key: str | None, label: str) -> NDArray[Any]:
    """One tensor of a safetensors file, memory-mapped (bfloat16 as float32)."""
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            raise InputError(f"{label} is not a safetensors file (shorter than its 8-byte header length)")
        length = int.from_bytes(head, "little")
        if length > size - 8 or length > 100_000_000:
            raise InputError(f"{label} is truncated or not a safetensors file (header of {length} bytes)")
        import json  # here: only a safetensors file needs it, and a run that reads none skips its import

        try:
            header = json.loads(handle.read(length))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise InputError(f"{label} is not a safetensors file (its header is not JSON)") from None
    tensors = {name: spec for name, spec in header.items() if name != "__metadata__"}
    if key is None:
        if len(tensors) != 1:
            raise InputError(
                f"{label} holds {len(tensors)} tensors; name one as {path}:KEY ({', '.join(sorted(tensors))})"
            )
        key = next(iter(tensors))
    if key not in tensors:
        raise InputError(f"{label} has no tensor {key!r}; it has {', '.join(sorted(tensors)) or 'none'}")
    spec = tensors[key]
    dtype = _SAFETENSORS_DTYPES.get(spec.get("dtype", ""))
    if dtype is None:
        raise InputError(f"{label}: tensor {key!r} has dtype {spec.get('dtype')!r}, which ce-loss does not read")
    start, stop = spec["data_offsets"]
    shape = tuple(int(n) for n in spec["shape"])
    itemsize = np.dtype(dtype).itemsize
    if stop - start != int(np.prod(shape)) * itemsize or 8 + length + stop > size:
        raise InputError(f"{label}: tensor {key!r} is truncated or its offsets do not match its shape {shape}")
    values = np.memmap(path, dtype=dtype, mode="r", offset=8 + length + start, shape=shape)
    return _widen_bfloat16(np.asarray(values)) if spec["dtype"] == "BF16" else values


def read_pt(path: str, key: str | None, label: str) -> NDArray[Any]:
    """One tensor of a ``torch.save`` file, loaded with ``weights_only=True``."""
    try:
        import torch
    except ImportError:
        raise InputError(
            f"{label} is a PyTorch file; reading it needs torch (pip install torch), which ce-loss loads with "
            "weights_only=True, never unpickling arbitrary objects; or save it as .npy where it was made"
        ) from None
    try:
        value: Any = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds for a file it cannot load safely
        raise InputError(f"{label} cannot be loaded with weights_only=True: {str(error).splitlines()[0]}") from None
    for part in [] if key is None else key.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, (list, tuple)) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            keys = ", ".join(map(str, value)) if isinstance(value, dict) else f"a {type(value).__name__}"
            raise InputError(f"{label} has no key {part!r} (in {key!r}); there: {keys}")
    if isinstance(value, dict):
        raise InputError(
            f"{label}{'' if key is None else ':' + key} is a dict; name a tensor in it ({', '.join(map(str, value))})"
        )
    if not isinstance(value, torch.Tensor):
        raise InputError(f"{label} holds a {type(value).__name__}, not a tensor")
    tensor = value.detach()
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.float()  # exact: bfloat16 is float32's upper half
    array: NDArray[Any] = tensor.numpy()
    return array


class ParquetRows:
    """A Parquet file's list-of-numbers column as ``(N, C)`` rows, read a row group at a time when asked
    (:class:`ce_cli.layout.LeadingReader`): memory bounded by the row groups a block spans, not by the file."""

    def __init__(self, path: str, column: str, label: str) -> None:
        import threading

        import pyarrow as pa
        import pyarrow.parquet as pq

        self._file = pq.ParquetFile(path)
        self._column, self._label = column, label
        self._lock = threading.Lock()  # one reader of the file at a time: blocks come from worker threads
        schema = self._file.schema_arrow
        if column not in schema.names:
            raise InputError(f"{label} has no column {column!r}; it has {', '.join(schema.names)}")
        kind = schema.field(column).type
        if not (pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)):
            raise InputError(f"{label}: column {column!r} is {kind}, not a list of numbers per row")
        value = kind.value_type
        if not (pa.types.is_floating(value) or pa.types.is_integer(value)):
            raise InputError(f"{label}: column {column!r} holds lists of {value}, not of numbers")
        meta = self._file.metadata
        sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        self._starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.dtype: np.dtype[Any] = np.dtype(np.float32 if pa.types.is_float32(value) else np.float64)
        width = self._group(0).shape[1] if sizes and sizes[0] else 0
        self.shape: tuple[int, ...] = (int(meta.num_rows), width)

    @property
    def ndim(self) -> int:
        return 2

    def _group(self, index: int) -> NDArray[Any]:
        with self._lock:
            column = self._file.read_row_group(index, columns=[self._column]).column(0).combine_chunks()
        lengths = np.diff(column.offsets.to_numpy()) if hasattr(column, "offsets") else None
        if lengths is not None and len(lengths) and not np.all(lengths == lengths[0]):
            first = int(np.flatnonzero(lengths != lengths[0])[0])
            raise InputError(f"{self._label}: row {int(self._starts[index]) + first} has {lengths[first]} values, "
                             f"row {int(self._starts[index])} {lengths[0]}: rows of one length are needed")  # fmt: skip
        values: NDArray[Any] = column.flatten().to_numpy(zero_copy_only=False).astype(self.dtype, copy=False)
        return values.reshape(len(column), -1)

    def leading(self, start: int, stop: int) -> NDArray[Any]:
        """Rows ``start:stop``, from the row groups they span."""
        first = int(np.searchsorted(self._starts, start, side="right")) - 1
        last = int(np.searchsorted(self._starts, max(start, stop - 1), side="right")) - 1
        parts = [self._group(i) for i in range(max(first, 0), min(last, len(self._starts) - 2) + 1)]
        if not parts:
            return np.empty((0, self.shape[1]), dtype=self.dtype)
        block: NDArray[Any] = np.concatenate(parts) if len(parts) > 1 else parts[0]
        offset = int(self._starts[max(first, 0)])
        return block[start - offset : stop - offset]

    def __getitem__(self, index: Any) -> NDArray[Any]:
        if isinstance(index, slice) and index.step in (None, 1):
            start, stop, _ = index.indices(self.shape[0])
            return self.leading(start, stop)
        picked: NDArray[Any] = np.asarray(self)[index]
        return picked

    def __array__(self, dtype: Any = None, copy: Any = None) -> NDArray[Any]:
        whole = self.leading(0, self.shape[0])
        return whole if dtype is None else whole.astype(dtype)


def read_parquet(path: str, key: str | None, label: str) -> tuple[NDArray[Any] | ParquetRows, tuple[str, ...] | None]:
    """A Parquet file's list-of-numbers column ``key`` as rows read by row group, or all its numeric columns
    and their names."""
    try:
        import pyarrow.parquet as pq
    except ImportError as error:  # not installed, or installed for another numpy
        why = "" if isinstance(error, ModuleNotFoundError) else f" (pyarrow failed to import: {error})"
        raise InputError(f"{label} is Parquet; reading it needs pyarrow: pip install 'ce-loss[parquet]'{why}") from None
    import pyarrow as pa

    try:
        if key is not None:
            schema = pq.ParquetFile(path).schema_arrow
            if key in schema.names and (
                pa.types.is_integer(schema.field(key).type) or pa.types.is_floating(schema.field(key).type)
            ):
                column: NDArray[Any] = pq.read_table(path, columns=[key]).column(0).to_numpy()  # one number per row
                return column, None
            return ParquetRows(path, key, label), None
        table = pq.read_table(path)
    except InputError:
        raise
    except Exception as error:  # pyarrow raises its own kinds for unreadable files
        raise InputError(f"{label} cannot be read as Parquet: {str(error).splitlines()[0]}") from None

    names = [f.name for f in table.schema if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)]
    others = [f.name for f in table.schema if f.name not in names]
    if others and not names:
        raise InputError(f"{label} has no numeric column ({', '.join(others)}); name a list column as {path}:COLUMN")
    array = np.column_stack([table.column(n).to_numpy(zero_copy_only=False).astype(np.float64) for n in names])
    return array, tuple(names)
