"""Numeric text tables (CSV, TSV, whitespace-separated) into float64 arrays.

Pure parsing, no printing. numpy's C parser (``np.loadtxt``) does the work, so
a large file costs what ``np.loadtxt`` costs; only when it refuses the text is
it read line by line, to name the row and column of the first bad cell.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

from ce_cli.errors import CellError, InputError, OptionError


def not_text(label: str) -> InputError:
    """The error for a source that is neither UTF-8 text nor NumPy data."""
    return InputError(f"{label} is neither text (UTF-8) nor a .npy/.npz file")


def sniff_delimiter(text: str) -> str | None:
    """Tab or comma if the first non-blank line has one, else whitespace."""
    for line in text.splitlines():
        if line.strip():
            if "\t" in line:
                return "\t"
            return "," if "," in line else None
    return None


def split_cells(line: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return line.split()
    return [cell.strip() for cell in next(csv.reader([line], delimiter=delimiter))]


def _first_row(text: str) -> tuple[int, str] | None:
    """``(index, line)`` of the first line that is neither blank nor a ``#`` comment, or ``None``."""
    start = index = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        line = text[start:end].strip()
        if line and not line.startswith("#"):
            return index, line
        start, index = end + 1, index + 1
    return None


@dataclass(frozen=True)
class TextTable:
    """A parsed numeric table.

    Attributes:
        array: ``(rows, columns)`` float64, or 1-D when the table has one row or one column.
        header: the names of the columns read, or ``None`` without a header row.
        skipped_index: the first column had an empty header cell, as pandas writes its row
            index (``df.to_csv()``), and was left out as the row index.
        suspicious_header: the header mixes numbers with this cell, which is not one: perhaps a
            data row with a typo (a Unicode minus, a stray letter) rather than column names.
    """

    array: NDArray[np.float64]
    header: tuple[str, ...] | None
    skipped_index: bool = False
    suspicious_header: str | None = None


def _column(name: str, header: tuple[str, ...] | None, width: int, label: str) -> int:
    """The 0-based position of a column given by header name or by index (negative from the end)."""
    if header is not None and name in header:
        return header.index(name)
    if re.fullmatch(r"-?\d{1,18}", name.strip()) and -width <= int(name) < width:
        return int(name) % width
    known = f"its columns are: {', '.join(repr(h) for h in header)}" if header else "it has no header row"
    raise OptionError(f"{label} has no column {name!r} to leave out; {known}")


@dataclass(frozen=True)
class TablePlan:
    """How a table's rows are read, from its first row: its header and the columns kept.

    Attributes:
        header: the names of the columns kept, or ``None`` without a header row.
        skip: the lines before the first data row (the header and any blank or comment lines before it).
        usecols: the 0-based columns kept, or ``None`` for all of them.
        width: the number of columns of the first row.
        first: the first row's line, or ``None`` for a table without one.
        skipped_index, suspicious_header: as :class:`TextTable` says.
    """

    header: tuple[str, ...] | None
    skip: int
    usecols: list[int] | None
    width: int
    first: str | None
    skipped_index: bool
    suspicious_header: str | None

    @property
    def kept(self) -> int:
        return self.width if self.usecols is None else len(self.usecols)


def plan_table(
    text: str, delimiter: str | None, label: str, *, allow_header: bool, drop: tuple[str, ...] = ()
) -> TablePlan:
    """Read the header rules off the beginning of a table (see :func:`parse_table`).

    Raises:
        OptionError: a column in ``drop`` that the table does not have, or dropping every column.
    """
    first = _first_row(text)
    header: tuple[str, ...] | None = None
    skip = 0
    cells = split_cells(first[1], delimiter) if first is not None else []
    # A comment ends a row for numpy's parser, so it ends it for the header rule too.
    data_cells = split_cells(first[1].split("#", 1)[0], delimiter) if first is not None else []
    suspicious_header = None
    if allow_header and first is not None and not all(is_number(cell) for cell in data_cells):
        header, skip = tuple(cells), first[0] + 1
        typos = [cell for cell in cells if almost_number(cell)]
        if typos:  # a data row with a typo, rather than names
            suspicious_header = typos[0]
        elif not _names_like_numbers(cells):
            suspicious_header = next(cell for cell in cells if not is_number(cell))
    skipped_index = header is not None and len(header) > 1 and header[0] == ""
    left_out = {0} if skipped_index else set()
    left_out |= {_column(name, header, len(cells), label) for name in drop}
    usecols = [i for i in range(len(cells)) if i not in left_out] if left_out else None
    if usecols == []:
        raise OptionError(f"{label}: leaving out {len(left_out)} columns leaves none")
    if header is not None and usecols is not None:
        header = tuple(header[i] for i in usecols)
    line = None if first is None else first[1]
    return TablePlan(header, skip, usecols, len(cells), line, skipped_index, suspicious_header)


def parse_table(
    text: str,
    delimiter: str | None,
    label: str,
    *,
    allow_header: bool,
    path: str | None = None,
    data: bytes | None = None,
    drop: tuple[str, ...] = (),
) -> TextTable:
    """Parse delimited numeric text into a float64 array with numpy's C parser.

    Blank lines and ``#`` comments are skipped. With ``allow_header``, a first
    row that is not all numbers is the header; a first header cell that is
    empty marks pandas' row index, which is left out. The columns named in
    ``drop`` (by header name or 0-based index) are left out too, and never
    parsed, so they may hold text such as ids. Given ``path`` (a file) or
    ``data`` (its bytes, from stdin), ``text`` need only hold the beginning, for
    the header: numpy's parser reads a file itself, and bytes a block of rows at
    a time into an array sized from their line feeds (never decoded whole), so a
    table costs about its array (and stdin its bytes as well). Only
    when numpy's parser refuses the text is it read line by line, to name the
    bad cell.

    Raises:
        InputError: naming the row (1-based line) and column of a bad cell.
        OptionError: a column in ``drop`` that the table does not have.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # numpy's reader takes CR-only line ends too
    plan = plan_table(text, delimiter, label, allow_header=allow_header, drop=drop)
    if plan.first is None and path is None:
        raise InputError(f"{label} holds no numbers")
    header, skip, usecols = plan.header, plan.skip, plan.usecols
    cells = split_cells(plan.first, delimiter) if plan.first is not None else []
    skipped_index, suspicious_header = plan.skipped_index, plan.suspicious_header
    try:
        if data is not None:  # bytes from stdin: parsed a block of rows at a time, never decoded whole
            with io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig") as body:
                array = _read_rows(body, skip, delimiter, usecols, data.count(b"\n") + 1)
        else:  # a file (numpy's parser reads it itself, into about its array) or a short text
            array = loadtxt_rows(path if path is not None else io.StringIO(text), skip, delimiter, usecols, None)
    except UnicodeDecodeError:
        raise not_text(label) from None
    except ValueError:
        if data is not None:
            whole = data.decode("utf-8-sig", errors="replace")
        else:
            whole = text if path is None else _read_text(path, label)
        lines = whole.replace("\r\n", "\n").replace("\r", "\n").splitlines()
        numbered = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")]
        names = tuple(cells) if skip else None
        raise_first_bad_cell(numbered[1:] if skip else numbered, delimiter, label, names, usecols)
        raise InputError(f"{label} could not be parsed as a table of numbers") from None
    if array.size == 0:
        raise InputError(f"{label} has a header but no rows of numbers" if header else f"{label} holds no numbers")
    if header is not None and array.shape[1] != len(header):
        raise InputError(f"{label}: the header has {len(header)} columns but the rows have {array.shape[1]}")
    if array.shape[0] == 1 or array.shape[1] == 1:
        array = array.reshape(-1)
    return TextTable(array, header, skipped_index, suspicious_header)


_ROWS_PER_READ = 1 << 16  # rows numpy's parser reads at a time into the table, from bytes in memory


def loadtxt_rows(
    source: Any, skip: int, delimiter: str | None, usecols: list[int] | None, max_rows: int | None
) -> NDArray[np.float64]:
    """numpy's parser on a path, or on an open text stream from where it stands."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "input contained no data": reported by the caller
        array: NDArray[np.float64] = np.loadtxt(
            source,
            delimiter=delimiter,
            dtype=np.float64,
            ndmin=2,
            skiprows=skip,
            comments="#",
            quotechar='"' if delimiter is not None else None,
            encoding="utf-8-sig",
            usecols=usecols,
            max_rows=max_rows,
        )
    return array


def _read_rows(
    body: IO[str], skip: int, delimiter: str | None, usecols: list[int] | None, capacity: int
) -> NDArray[np.float64]:
    """The table's rows, parsed by numpy a block of rows at a time into one array.

    Raises:
        ValueError: numpy's parser refused a row, or the rows change width.
    """
    for _ in range(skip):
        body.readline()
    out: NDArray[np.float64] | None = None
    filled = 0
    while True:
        block = loadtxt_rows(body, 0, delimiter, usecols, _ROWS_PER_READ)
        if block.shape[0] == 0:
            break
        if out is None:
            out = np.empty((max(capacity, block.shape[0]), block.shape[1]))  # untouched rows cost no memory
        elif block.shape[1] != out.shape[1]:
            raise ValueError("the rows change width")
        if filled + block.shape[0] > out.shape[0]:  # more rows than line feeds (CR-only line ends): grow
            room = np.empty((out.shape[0] // 2 + block.shape[0], out.shape[1]))
            out = np.concatenate([out[:filled], room])
        out[filled : filled + block.shape[0]] = block
        filled += block.shape[0]
        if block.shape[0] < _ROWS_PER_READ:
            break
    return np.zeros((0, 0)) if out is None else out[:filled]


def _read_text(path: str, label: str) -> str:
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise not_text(label) from None


# What numpy's parser reads as a float: ASCII digits only (Python's float() also takes "1_000" and
# full-width digits).
NUMBER = re.compile(r"\s*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)\s*", re.IGNORECASE | re.ASCII)


def is_number(cell: str) -> bool:
    """Whether numpy's parser reads ``cell`` as a number."""
    return NUMBER.fullmatch(cell) is not None


def almost_number(cell: str) -> bool:
    """A number with a typo numpy does not forgive: a Unicode minus, digit-group underscores, non-ASCII digits."""
    if is_number(cell):
        return False
    try:
        float(cell.replace("\u2212", "-").replace("_", ""))
    except ValueError:
        return False
    return True


def _names_like_numbers(cells: list[str]) -> bool:
    """Whether a header's numeric cells are column names such as pandas gives: consecutive integers (0, 1, 2)."""
    numbers = [cell.strip() for cell in cells if is_number(cell)]
    if not all(re.fullmatch(r"\d{1,9}", n) for n in numbers):
        return False
    values = [int(n) for n in numbers]
    return values == list(range(values[0], values[0] + len(values))) if values else True


def raise_first_bad_cell(
    numbered: list[tuple[int, str]],
    delimiter: str | None,
    label: str,
    names: tuple[str, ...] | None,
    usecols: list[int] | None,
) -> None:
    """Find the cell np.loadtxt refused (among the columns it read) and raise an error naming it.

    ``names`` is the header (its length is the row width; ``None``: the first row's).
    """
    width = None if names is None else len(names)
    for line_number, line in numbered:
        cells = split_cells(line, delimiter)
        if width is None:
            width = len(cells)
        for column, cell in enumerate(cells, start=1):
            if usecols is not None and column - 1 not in usecols:
                continue
            if cell == "":
                raise InputError(f"{label}: line {line_number}, column {column} is empty")
            if not is_number(cell):
                text_column = names is not None and column <= len(names) and not almost_number(cell)
                name = names[column - 1] if names is not None and text_column else None
                raise CellError(f"{label}: line {line_number}, column {column}: {cell!r} is not a number", name)
        if len(cells) != width:
            raise InputError(f"{label}: line {line_number} has {len(cells)} values, but earlier rows have {width}")
