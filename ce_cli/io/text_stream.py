"""A large text table read a chunk of lines at a time, as its rows are scored: bounded memory.

:func:`open_text_rows` makes one quick pass over the file, counting the data
rows of each chunk of about ``CHUNK_TEXT_BYTES`` (cut at line ends), so that
the table's shape is known before anything is parsed. :class:`TextRows` is
then a :class:`ce_cli.layout.LeadingReader`: the evaluation asks for rows a
block at a time (one block per chunk, :meth:`TextRows.block_bounds`), and each
chunk is parsed when asked for, in the worker thread that scores it. The
compiled kernel parses the common case (no quotes) with the GIL released, so
chunks parse on every core; anything else, and every chunk without the
compiled kernel, goes to numpy's parser, which also names a bad cell.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ce_cli.errors import InputError
from ce_cli.io.columns import is_row
from ce_cli.io.positional_files import PositionalFile
from ce_cli.io.table_plan import TablePlan, split_cells
from ce_cli.io.text_tables import not_text, parse_rows, raise_first_bad_cell
from ce_cli.native import active as active_kernel
from ce_cli.records import frozen

STREAM_TEXT_BYTES = 1 << 26  # text files larger than this (64 MiB) are read a chunk at a time as they are scored
CHUNK_TEXT_BYTES = 1 << 21  # text per chunk (2 MiB): its parsed rows and its text, a few in flight, bound the memory
PARSED_CHUNKS_KEPT = 2  # parsed chunks kept for a block that asks for rows of a chunk again (blocks are chunks)


@frozen
class TextChunk:
    """A run of whole lines of the file: where it is, and which rows and lines it holds."""

    offset: int
    size: int
    first_row: int
    rows: int
    first_line: int  # lines of the file before it


def _count_rows(data: bytes, delimiter: str | None, kernel_module: Any) -> tuple[int, int]:
    """The lines of ``data`` numpy's parser reads as rows (-1 if a CR alone ends a line), and its line ends.

    A line that is empty or blanks only once its ``#`` comment is cut off is no row, whatever the
    delimiter (:func:`~ce_cli.io.columns.data_lines`); between delimiters, blanks make a row (of empty cells).
    """
    if kernel_module is not None:
        rows, newlines = kernel_module.count_lines(data, -1 if delimiter is None else ord(delimiter))
        return int(rows), int(newlines)
    if b"\r" in data.replace(b"\r\n", b""):
        return -1, 0
    lines = (line.removesuffix(b"\r").split(b"#", 1)[0] for line in data.split(b"\n"))
    return sum(1 for line in lines if line.strip(b" \t")), data.count(b"\n")


def _index(path: str, offset: int, first_line: int, delimiter: str | None, label: str) -> list[TextChunk] | None:
    """The chunks of the file from ``offset``, each cut at a line end; ``None`` for CR-only line ends."""
    kernel = active_kernel()
    module = kernel.module if kernel.native else None
    chunks: list[TextChunk] = []
    row, line = 0, first_line
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            while True:
                data = handle.read(CHUNK_TEXT_BYTES)
                if not data:
                    return chunks
                if not data.endswith(b"\n"):
                    data += handle.readline()
                rows, newlines = _count_rows(data, delimiter, module)
                if rows < 0:
                    return None
                chunks.append(TextChunk(offset, len(data), row, rows, line))
                offset, row, line = offset + len(data), row + rows, line + newlines
    except OSError as error:
        raise InputError(f"{label} cannot be read: {error.strerror or error}") from None


class TextRows:
    """The ``(rows, columns)`` float64 table of a large text file, parsed a chunk at a time when asked for."""

    def __init__(
        self,
        path: str,
        plan: TablePlan,
        delimiter: str | None,
        chunks: list[TextChunk],
        label: str,
        columns: list[int] | None = None,
    ) -> None:
        """``columns``: the file's columns read (0-based), where not the plan's."""
        self.label, self.path = label, path
        self.dtype = np.dtype(np.float64)
        self._plan, self._delimiter, self._chunks = plan, delimiter, chunks
        if columns is None:
            columns = plan.usecols if plan.usecols is not None else list(range(plan.width))
        self._columns = columns
        self._usecols = None if columns == list(range(plan.width)) else columns  # None: every row must be as wide
        self.shape = (sum(c.rows for c in chunks), len(columns))
        self._starts = np.array([c.first_row for c in chunks], dtype=np.int64)
        keep = np.zeros(plan.width, dtype=np.uint8)
        keep[columns] = 1
        self._keep = keep.tobytes()
        self._parsed: OrderedDict[int, NDArray[np.float64]] = OrderedDict()
        self._lock = threading.Lock()
        self.file = PositionalFile(path)

    @property
    def ndim(self) -> int:
        return 2

    def block_bounds(self) -> list[tuple[int, int]]:
        """The rows of each chunk: blocks that each parse one chunk."""
        return [(c.first_row, c.first_row + c.rows) for c in self._chunks if c.rows]

    def leading(self, start: int, stop: int) -> NDArray[np.float64]:
        """Rows ``start:stop``, parsed from the chunks that hold them."""
        first = max(0, int(np.searchsorted(self._starts, start, side="right")) - 1)
        parts = []
        for index in range(first, len(self._chunks)):
            chunk = self._chunks[index]
            if chunk.first_row >= stop:
                break
            if chunk.rows == 0 or chunk.first_row + chunk.rows <= start:
                continue
            table = self._chunk(index)
            parts.append(table[max(0, start - chunk.first_row) : stop - chunk.first_row])
        if not parts:
            return np.empty((0, self.shape[1]))
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def without(self, position: int) -> TextRows:
        """The same table without its column ``position`` (of those read): the logits beside a target column."""
        columns = [c for i, c in enumerate(self._columns) if i != position]
        return TextRows(self.path, self._plan, self._delimiter, self._chunks, self.label, columns)

    def column(self, position: int) -> NDArray[np.float64]:
        """Column ``position`` (of those read) of every row, parsed a chunk at a time on every core: ``(rows,)``.

        Only that column's cells are converted; the memory is the column's, not the table's.
        """
        one = TextRows(self.path, self._plan, self._delimiter, self._chunks, self.label, [self._columns[position]])
        out = np.empty(self.shape[0])

        def fill(index: int) -> None:
            chunk = self._chunks[index]
            if chunk.rows:
                out[chunk.first_row : chunk.first_row + chunk.rows] = one._parse(chunk)[:, 0]

        from ce_cli.blocks import default_threads, worker_pool

        threads = default_threads()
        if threads <= 1 or len(self._chunks) <= 1:
            for index in range(len(self._chunks)):
                fill(index)
        else:  # the evaluation's own worker threads
            list(worker_pool(threads).map(fill, range(len(self._chunks))))
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> NDArray[Any]:
        whole = self.leading(0, self.shape[0])
        return whole if dtype is None else whole.astype(dtype)

    def _chunk(self, index: int) -> NDArray[np.float64]:
        with self._lock:
            if index in self._parsed:
                self._parsed.move_to_end(index)
                return self._parsed[index]
        table = self._parse(self._chunks[index])
        with self._lock:
            self._parsed[index] = table
            while len(self._parsed) > PARSED_CHUNKS_KEPT:
                self._parsed.popitem(last=False)
        return table

    def _parse(self, chunk: TextChunk) -> NDArray[np.float64]:
        data = self.file.pread(chunk.size, chunk.offset)
        if len(data) < chunk.size:
            raise InputError(f"{self.label} changed while it was read: it ends sooner than it did")
        kernel = active_kernel()
        if kernel.native and kernel.module is not None:
            out = np.empty((chunk.rows, self.shape[1]))
            delimiter = -1 if self._delimiter is None else ord(self._delimiter)
            if kernel.module.parse_lines(data, delimiter, self._keep, out) == chunk.rows:
                return out
        try:
            text = data.decode("utf-8")
            table = parse_rows(text, self._delimiter, self._usecols)
        except UnicodeDecodeError:
            raise not_text(self.label) from None
        except ValueError:
            self._raise_bad_cell(data.decode("utf-8", errors="replace"), chunk)
            raise InputError(f"{self.label} could not be parsed as a table of numbers") from None
        if table.shape != (chunk.rows, self.shape[1]):
            if table.size and table.shape[1] != self.shape[1]:
                self._raise_bad_cell(data.decode("utf-8", errors="replace"), chunk)
            raise InputError(f"{self.label} changed while it was read: a part of it no longer holds the rows it did")
        return table

    def _raise_bad_cell(self, text: str, chunk: TextChunk) -> None:
        lines = text.split("\n")
        numbered = [(chunk.first_line + i + 1, line.rstrip("\r")) for i, line in enumerate(lines) if is_row(line)]
        plan = self._plan
        names = tuple(split_cells(plan.first or "", self._delimiter)) if plan.header is not None else None
        raise_first_bad_cell(numbered, self._delimiter, self.label, names, self._usecols)


def open_text_rows(path: str, plan: TablePlan, delimiter: str | None, label: str) -> TextRows | None:
    """A large table as :class:`TextRows`, or ``None`` where it is better read whole (CR-only line
    ends, a single column, no rows)."""
    if plan.first is None or plan.kept < 2:
        return None
    try:
        with open(path, "rb") as handle:
            offset = 3 if handle.read(3) == b"\xef\xbb\xbf" else 0
            handle.seek(offset)
            for _ in range(plan.skip):
                handle.readline()
            offset = handle.tell()
    except OSError as error:
        raise InputError(f"{label} cannot be read: {error.strerror or error}") from None
    chunks = _index(path, offset, plan.skip, delimiter, label)
    if chunks is None or not any(c.rows for c in chunks):
        return None
    return TextRows(path, plan, delimiter, chunks, label)


class LazyIds:
    """The id column of a large table, read the first time a name is asked for: a run that prints no
    names (``-q``, ``-o losses.npy``) never reads it. Indexing and ``len`` as a 1-D array of text.

    Raises (on first read):
        InputError: the column does not hold one name per row of the table.
    """

    def __init__(self, read: Callable[[], NDArray[np.str_]], rows: int, label: str) -> None:
        self._read, self._rows, self._label = read, rows, label
        self._values: NDArray[np.str_] | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._rows

    @property
    def shape(self) -> tuple[int]:
        return (self._rows,)

    def values(self) -> NDArray[np.str_]:
        with self._lock:
            if self._values is None:
                values = self._read()
                if len(values) != self._rows:
                    raise InputError(f"{self._label}: the id column has {len(values)} rows but the table {self._rows}")
                self._values = values
            return self._values

    def __getitem__(self, row: Any) -> Any:
        return self.values()[row]

    def __array__(self, dtype: Any = None, copy: Any = None) -> NDArray[Any]:
        values = self.values()
        return values if dtype is None else values.astype(dtype)
