"""Tensors in the files models are saved in: safetensors, PyTorch's ``.pt`` and Parquet columns.

- ``file.safetensors:key``: read by ce-loss itself (the format is an 8-byte little-endian header length,
  a JSON header ``{name: {dtype, shape, data_offsets}}``, then the raw little-endian buffers), memory-mapped;
  bfloat16 widened to float32 exactly (its bits are float32's upper half). No package needed.
- ``file.pt[:key]``: ``torch.load(..., weights_only=True)`` (never an arbitrary unpickle) when torch is
  installed; ``a.b`` for nested dicts; a tensor of any dtype (bfloat16 widened to float32, exactly);
  anything but tensors, dicts and lists is refused by name.
- ``file.parquet[:column]``: with pyarrow (``pip install 'ce-loss[parquet]'``): a list-of-floats column as
  rows, or every numeric column as a table whose header names them (so ``--target-column`` works).

Headers and dtypes are checked before data is read; a missing key lists the keys; a truncated file is an
error, not a crash.
"""

from __future__ import annotations

import json
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


def read_parquet(path: str, key: str | None, label: str) -> tuple[NDArray[Any], tuple[str, ...] | None]:
    """A Parquet file's list-of-floats column ``key`` as rows, or all its numeric columns and their names."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(f"{label} is Parquet; reading it needs pyarrow: pip install 'ce-loss[parquet]'") from None
    try:
        table = pq.read_table(path, columns=None if key is None else [key])
    except Exception as error:  # pyarrow raises its own kinds for unreadable files
        raise InputError(f"{label} cannot be read as Parquet: {str(error).splitlines()[0]}") from None
    if key is not None:
        column = table.column(0)
        try:
            rows = column.to_pylist()
            return np.asarray(rows, dtype=np.float64), None
        except (ValueError, TypeError):
            raise InputError(f"{label}: column {key!r} is not a list of numbers per row") from None
    import pyarrow as pa

    names = [f.name for f in table.schema if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)]
    others = [f.name for f in table.schema if f.name not in names]
    if others and not names:
        raise InputError(f"{label} has no numeric column ({', '.join(others)}); name a list column as {path}:COLUMN")
    array = np.column_stack([table.column(n).to_numpy(zero_copy_only=False).astype(np.float64) for n in names])
    return array, tuple(names)
