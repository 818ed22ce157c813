"""Sharded inputs: a quoted glob (``'shards/logits-*.npy'``) read as one array, shard after shard.

ce-loss expands the glob itself, sorts the files by name and reads them as one
array along the first axis (the samples), each shard when its rows are asked
for: ``.npy`` shards a block at a time, large text shards a chunk at a time
(:class:`Shards` is a :class:`ce_cli.layout.LeadingReader`), so the whole
input streams through the evaluation in bounded memory, in shard order.
"""

from __future__ import annotations

import glob
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ce_cli.blocks import NATIVE_CHUNK_BYTES, chunks, rows_per_chunk
from ce_cli.errors import InputError
from ce_cli.layout import LeadingReader


def is_pattern(src: str) -> bool:
    """Whether ``src`` is a glob pattern (``*``, ``?`` or ``[...]``) for ce-loss to expand."""
    return glob.has_magic(src)


def matches(pattern: str) -> list[str]:
    """The files ``pattern`` matches, sorted by name (none: an empty list)."""
    return sorted(path for path in glob.glob(pattern) if not path.endswith("/"))


def expand(pattern: str, role: str) -> list[str]:
    """The files ``pattern`` matches, sorted by name.

    Raises:
        InputError: it matches no file.
    """
    files = matches(pattern)
    if not files:
        raise InputError(f"{role} pattern '{pattern}' matches no file (quote it, so that ce-loss expands it)")
    return files


class Shards:
    """Arrays one after another along their first axis, read from each when its rows are asked for.

    Attributes:
        shape, dtype: of the whole (the shards' common dtype).
        files, labels: each shard's path and how messages name it.
    """

    def __init__(self, parts: list[Any], files: list[str], labels: list[str]) -> None:
        for part, label in zip(parts, labels, strict=True):
            if len(part.shape) == 0:
                raise InputError(
                    f"{label} holds a single number (shape ()): shards are arrays joined along their first axis"
                )
        rest = tuple(parts[0].shape[1:])
        for part, label in zip(parts, labels, strict=True):
            if tuple(part.shape[1:]) != rest:
                raise InputError(
                    f"{label} has shape {tuple(part.shape)}, but {labels[0]} has {tuple(parts[0].shape)}: "
                    "shards must agree on every axis but the first"
                )
        self._parts = parts
        self.files, self.labels = files, labels
        self.dtype: np.dtype[Any] = np.result_type(*(part.dtype for part in parts))
        counts = [int(part.shape[0]) for part in parts]
        self.counts = counts
        self._starts = np.cumsum([0, *counts])
        self.shape: tuple[int, ...] = (int(self._starts[-1]), *rest)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def leading(self, start: int, stop: int) -> NDArray[Any]:
        """``array[start:stop]`` along the first axis, from the shards that hold those rows."""
        pieces = []
        first = max(0, int(np.searchsorted(self._starts, start, side="right")) - 1)
        for index in range(first, len(self._parts)):
            begin = int(self._starts[index])
            if begin >= stop:
                break
            a, b = max(start, begin) - begin, min(stop, int(self._starts[index + 1])) - begin
            if b > a:
                part = self._parts[index]
                piece = part.leading(a, b) if isinstance(part, LeadingReader) else np.asarray(part)[a:b]
                pieces.append(piece.astype(self.dtype, copy=False))
        if not pieces:
            return np.empty((0, *self.shape[1:]), dtype=self.dtype)
        return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)

    def __array__(self, dtype: Any = None, copy: Any = None) -> NDArray[Any]:
        whole = self.leading(0, self.shape[0])
        return whole if dtype is None else whole.astype(dtype)

    def __getattr__(self, name: str) -> Any:
        """``block_bounds`` of ``(rows, columns)`` shards of which one is read in chunks of its own (a large
        text table): its chunks, and blocks of the usual size for the others."""
        if name != "block_bounds" or len(self.shape) != 2 or not any(hasattr(p, "block_bounds") for p in self._parts):
            raise AttributeError(name)
        return self._block_bounds

    def _block_bounds(self) -> list[tuple[int, int]]:
        size = rows_per_chunk(self.shape[1], NATIVE_CHUNK_BYTES)
        bounds: list[tuple[int, int]] = []
        for part, begin in zip(self._parts, self._starts, strict=False):
            own: Callable[[], list[tuple[int, int]]] | None = getattr(part, "block_bounds", None)
            spans = own() if own is not None else chunks(int(part.shape[0]), size)
            bounds += [(int(begin) + a, int(begin) + b) for a, b in spans]
        return bounds
