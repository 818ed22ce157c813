"""Files read with ``os.pread``: held open while one input is read, or opened for each read among many.

A single ``.npy`` or text file stays open for the run (it is read block by block
from several threads). Shards are many files: each is released once its header
has been read, and then opened for each block read and closed after, so a run
holds a bounded number of files open whatever the number of shards.
"""

from __future__ import annotations

import os
import weakref


class PositionalFile:
    """A file read at given offsets.

    Attributes:
        path: the file's path.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._descriptor: int | None = os.open(path, os.O_RDONLY)
        self._close = weakref.finalize(self, os.close, self._descriptor)

    def release(self) -> None:
        """Close the file; later reads open it for themselves."""
        self._close()
        self._descriptor = None

    def pread(self, size: int, offset: int) -> bytes:
        """Up to ``size`` bytes from ``offset`` (fewer at the end of the file)."""
        if self._descriptor is not None:
            return os.pread(self._descriptor, size, offset)
        descriptor = os.open(self.path, os.O_RDONLY)
        try:
            return os.pread(descriptor, size, offset)
        finally:
            os.close(descriptor)
