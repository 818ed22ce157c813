"""Blocks of rows evaluated on every core: the scheduler, not the math.

Rows are cut into blocks of about ``CHUNK_BYTES`` of float64 work, large
enough that numpy's per-call costs vanish and small enough to stay near the
cores' caches, and evaluated by a pool of threads (numpy releases the GIL
inside its loops). Blocks of a memory-mapped ``.npy`` file
are released from the process's memory once evaluated, so a file larger than
memory streams through in constant resident memory. Pure numpy and the
standard library: no I/O of its own, no printing.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

# float64 work per block. Measured on 2 cores (benchmarks/bench.py): below 1 MiB the
# per-block numpy calls dominate; 2 MiB was the best of 1-8 MiB across the benchmark shapes.
CHUNK_BYTES = 1 << 21
MAX_CHUNK_ROWS = 1 << 18


def default_threads() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def rows_per_chunk(num_classes: int) -> int:
    """Rows per block so that a block holds about ``CHUNK_BYTES`` of float64 values."""
    return max(1, min(MAX_CHUNK_ROWS, CHUNK_BYTES // (8 * max(1, num_classes))))


def chunks(num_rows: int, size: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` covering ``range(num_rows)`` in steps of ``size``."""
    return [(start, min(start + size, num_rows)) for start in range(0, num_rows, size)]


def file_mapping(array: Any) -> mmap.mmap | None:
    """The file mapping an array's memory belongs to (its base, or a base of its base), or ``None``."""
    while array is not None:
        if isinstance(array, mmap.mmap):
            return array
        array = getattr(array, "base", None)
    return None


def whole_pages(first: int, last: int, page: int = mmap.PAGESIZE) -> tuple[int, int]:
    """``(offset, length)`` of the pages lying wholly inside bytes ``first:last`` (length 0 if none)."""
    aligned_first = -(-first // page) * page
    aligned_last = last // page * page
    return aligned_first, max(0, aligned_last - aligned_first)


def release_pages(rows: Any, start: int, stop: int) -> None:
    """Drop the pages of ``rows[start:stop]`` from resident memory if ``rows`` maps a file.

    Only pages wholly inside the range are released; the operating system
    re-reads them from the page cache if they are touched again. Anything that is not a
    memory-mapped array is left alone.
    """
    handle = file_mapping(rows)
    if handle is None or not hasattr(handle, "madvise") or stop <= start or not rows.flags.c_contiguous:
        return
    base = np.frombuffer(handle, dtype=np.uint8).ctypes.data
    first = rows.ctypes.data - base + start * rows.strides[0]
    offset, length = whole_pages(first, first + (stop - start) * rows.strides[0])
    if length:
        handle.madvise(mmap.MADV_DONTNEED, offset, length)


def run_blocks(
    rows: Any,
    evaluate: Callable[[int, int], T],
    *,
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[T]:
    """Evaluate ``rows`` block by block; yield the results in row order.

    Args:
        rows: the ``(M, C)`` array the blocks are cut from (possibly memory-mapped).
        evaluate: ``(start, stop) -> result`` for one block; called from worker threads.
        threads: worker threads (default: the cores available).
        progress: called in the caller's thread with the number of rows done so far.
    """
    num_rows, num_classes = rows.shape
    ranges = chunks(num_rows, rows_per_chunk(num_classes))
    threads = default_threads() if threads is None else threads

    def work(bounds: tuple[int, int]) -> T:
        result = evaluate(*bounds)
        release_pages(rows, *bounds)
        return result

    if threads <= 1 or len(ranges) <= 1:
        results: Iterator[T] = map(work, ranges)
        for (_, stop), result in zip(ranges, results, strict=True):
            if progress is not None:
                progress(stop)
            yield result
        return
    from concurrent.futures import ThreadPoolExecutor  # imported here: small inputs never need it

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="ce-loss") as pool:
        for (_, stop), result in zip(ranges, pool.map(work, ranges), strict=True):
            if progress is not None:
                progress(stop)
            yield result
