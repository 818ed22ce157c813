"""Blocks of rows evaluated on every core: the scheduler, not the math.

Rows are cut into blocks of about ``CHUNK_BYTES`` of float64 work, large
enough that numpy's per-call costs vanish and small enough to stay near the
cores' caches, and evaluated by a pool of threads (numpy releases the GIL
inside its loops). Rows that are read block by block (a ``.npy`` file, see
:mod:`ce_cli.layout`) are read as their block is evaluated, so a file larger
than memory streams through in bounded resident memory. Pure numpy and the
standard library: no I/O of its own, no printing.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

# float64 work per block. Measured on 2 cores (benchmarks/bench.py): for the numpy path, below
# 1 MiB the per-block numpy calls dominate and 2 MiB was the best of 1-8 MiB across the benchmark
# shapes; the compiled kernel, which holds one row at a time, does best with 8 MiB blocks of rows
# read from a file (the block size sets the reader's memory), and with 32 MiB of rows already in
# memory (fewer blocks, less of each block's own cost: 0.93-0.98 of the time for softmax rows of 10
# classes or more, AVX2 and AVX-512; the binary family's blocks measured the same either way).
CHUNK_BYTES = 1 << 21
NATIVE_CHUNK_BYTES = 1 << 23
IN_MEMORY_CHUNK_BYTES = 1 << 25
MAX_CHUNK_ROWS = 1 << 18
BLOCKS_PER_THREAD = 2  # at least this many blocks per thread when the rows allow, to keep every core busy
MIN_CHUNK_ROWS = 4096
IN_FLIGHT = 2  # blocks per thread submitted ahead of the caller
_POOL_LOCK = threading.Lock()


def default_threads() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def rows_per_chunk(num_classes: int, chunk_bytes: int | None = None) -> int:
    """Rows per block so that a block holds about ``chunk_bytes`` (default ``CHUNK_BYTES``) of float64 values."""
    size = CHUNK_BYTES if chunk_bytes is None else chunk_bytes
    return max(1, min(MAX_CHUNK_ROWS, size // (8 * max(1, num_classes))))


def native_chunk_bytes(rows: Any) -> int:
    """float64 work per block for the compiled kernel: ``IN_MEMORY_CHUNK_BYTES`` for an array in memory,
    ``NATIVE_CHUNK_BYTES`` for rows read from a file as their blocks are evaluated."""
    import numpy as np

    return IN_MEMORY_CHUNK_BYTES if isinstance(rows, np.ndarray) else NATIVE_CHUNK_BYTES


def chunks(num_rows: int, size: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` covering ``range(num_rows)`` in steps of ``size``."""
    return [(start, min(start + size, num_rows)) for start in range(0, num_rows, size)]


def run_blocks(
    rows: Any,
    evaluate: Callable[[int, int], T],
    *,
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
    chunk_bytes: int | None = None,
) -> Iterator[T]:
    """Evaluate ``rows`` block by block; yield the results in row order.

    Args:
        rows: the ``(M, C)`` rows the blocks are cut from (possibly read from a file block by block).
        evaluate: ``(start, stop) -> result`` for one block; called from worker threads.
        threads: worker threads (default: the cores available).
        progress: called in the caller's thread with the number of rows done so far.
        chunk_bytes: float64 work per block (default ``CHUNK_BYTES``).
    """
    num_rows, num_classes = rows.shape
    threads = default_threads() if threads is None else threads
    bounds = getattr(rows, "block_bounds", None)  # rows read in chunks of their own (a text table) say where
    if callable(bounds):
        ranges: list[tuple[int, int]] = bounds()
    else:
        size = rows_per_chunk(num_classes, chunk_bytes)
        if threads > 1:  # enough blocks for every thread, unless that makes them tiny
            size = min(size, max(MIN_CHUNK_ROWS, -(-num_rows // (BLOCKS_PER_THREAD * threads))))
        ranges = chunks(num_rows, size)

    def work(bounds: tuple[int, int]) -> T:
        return evaluate(*bounds)

    if threads <= 1 or len(ranges) <= 1:
        results: Iterator[T] = map(work, ranges)
        for (_, stop), result in zip(ranges, results, strict=True):
            if progress is not None:
                progress(stop)
            yield result
        return
    from collections import deque
    from concurrent.futures import Future, wait

    # At most IN_FLIGHT blocks per thread are submitted ahead of the one the caller waits for, so
    # finished blocks never pile up in memory when the caller consumes them slower than they come.
    pool = worker_pool(threads)
    pending: deque[tuple[int, Future[T]]] = deque()
    try:
        upcoming = iter(ranges)
        for bounds in upcoming:
            pending.append((bounds[1], pool.submit(work, bounds)))
            if len(pending) >= IN_FLIGHT * threads:
                break
        while pending:
            stop, future = pending.popleft()
            result = future.result()
            for bounds in upcoming:
                pending.append((bounds[1], pool.submit(work, bounds)))
                break
            if progress is not None:
                progress(stop)
            yield result
    finally:  # an error or a caller that stops early: no block is left running on the caller's arrays
        for _, future in pending:
            future.cancel()
        wait([future for _, future in pending])


_POOLS: dict[int, Any] = {}


def worker_pool(threads: int) -> Any:
    """A pool of ``threads`` worker threads, made once per process: starting threads costs about as much
    as scoring a million narrow rows, and the API may be called many times."""
    from concurrent.futures import ThreadPoolExecutor  # imported here: small inputs never need it

    with _POOL_LOCK:
        if threads not in _POOLS:
            _POOLS[threads] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="ce-loss")
        return _POOLS[threads]
