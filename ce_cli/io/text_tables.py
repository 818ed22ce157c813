"""Numeric text tables (CSV, TSV, whitespace-separated) into float64 arrays.

Pure parsing, no printing. numpy's C parser (``np.loadtxt``) does the work, so
a large file costs what ``np.loadtxt`` costs; only when it refuses the text is
it read line by line, to name the row and column of the first bad cell.
"""

from __future__ import annotations

import io
import warnings
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

from ce_cli.errors import CellError, InputError
from ce_cli.io.columns import NO_CHOICE, ColumnChoice, HeaderMode, data_lines, is_row, text_column
from ce_cli.io.table_plan import TablePlan, almost_number, is_number, plan_table, split_cells
from ce_cli.records import frozen


def not_text(label: str) -> InputError:
    """The error for a source that is neither UTF-8 text nor NumPy data."""
    return InputError(f"{label} is neither text (UTF-8) nor a .npy/.npz file")


@frozen
class TextTable:
    """A parsed numeric table.

    Attributes:
        array: ``(rows, columns)`` float64, or 1-D when the table has one row or one column.
        header: the names of the columns read, or ``None`` without a header row.
        skipped_index: the first column had an empty header cell, as pandas writes its row
            index (``df.to_csv()``), and was left out as the row index.
        suspicious_header: the header mixes numbers with this cell, which is not one: perhaps a
            data row with a typo (a Unicode minus, a stray letter) rather than column names.
        plan: how the table was read (:class:`TablePlan`).
        ids: the id column's cells, one per row, where the plan names an id column.
    """

    array: NDArray[np.float64]
    header: tuple[str, ...] | None
    skipped_index: bool = False
    suspicious_header: str | None = None
    plan: TablePlan | None = None
    ids: NDArray[np.str_] | None = None


def parse_table(
    text: str,
    delimiter: str | None,
    label: str,
    *,
    allow_header: bool,
    path: str | None = None,
    data: bytes | None = None,
    choice: ColumnChoice = NO_CHOICE,
    header_mode: HeaderMode = "auto",
) -> TextTable:
    """Parse delimited numeric text into a float64 array with numpy's C parser.

    Blank lines and ``#`` comments are skipped. With ``allow_header``, a first
    row that is not all numbers is the header; a first header cell that is
    empty marks pandas' row index, which is left out (:func:`plan_table` has
    the whole rule). The columns ``choice`` leaves out (by header name or 0-based
    index) are never parsed as numbers, so they may hold text such as ids; an id
    column is read as text. Given ``path`` (a file) or
    ``data`` (its bytes, from stdin), ``text`` need only hold the beginning, for
    the header: numpy's parser reads a file itself, and bytes a block of rows at
    a time into an array sized from their line feeds (never decoded whole), so a
    table costs about its array (and stdin its bytes as well). Only
    when numpy's parser refuses the text is it read line by line, to name the
    bad cell.

    Raises:
        InputError: naming the row (1-based line) and column of a bad cell.
        OptionError: a column in ``choice`` that the table does not have.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # numpy's reader takes CR-only line ends too
    plan = plan_table(text, delimiter, label, allow_header=allow_header, choice=choice, header_mode=header_mode)
    if plan.first is None and path is None:
        raise InputError(f"{label} holds no numbers")
    header, skip, usecols = plan.header, plan.skip, plan.usecols
    cells = split_cells(plan.first, delimiter) if plan.first is not None else []
    skipped_index, suspicious_header = plan.skipped_index, plan.suspicious_header
    try:
        if data is not None:  # bytes from stdin: parsed a block of rows at a time, never decoded whole
            with io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig") as body:
                array = _read_rows(body, skip, delimiter, usecols, data.count(b"\n") + 1, plan.kept)
        else:  # a file (numpy's parser reads it itself, into about its array) or a short text
            array = loadtxt_rows(path if path is not None else io.StringIO(text), skip, delimiter, usecols, None)
    except UnicodeDecodeError:
        raise not_text(label) from None
    except ValueError:  # a line of blanks (numpy reads a row there), or a bad cell
        if data is not None:
            whole = data.decode("utf-8-sig", errors="replace")
        else:
            whole = text if path is None else _read_text(path, label)
        lines = whole.replace("\r\n", "\n").replace("\r", "\n").splitlines()
        try:
            array = parse_rows("\n".join(lines[skip:]), delimiter, usecols)
        except ValueError:
            numbered = [(i + 1, ln) for i, ln in enumerate(lines) if i >= skip and is_row(ln)]
            names = tuple(cells) if skip else None
            raise_first_bad_cell(numbered, delimiter, label, names, usecols)
            raise InputError(f"{label} could not be parsed as a table of numbers") from None
    if array.size == 0:
        raise InputError(f"{label} has a header but no rows of numbers" if header else f"{label} holds no numbers")
    if header is not None and array.shape[1] != len(header):
        raise InputError(f"{label}: the header has {len(header)} columns but the rows have {array.shape[1]}")
    ids = None
    if plan.ids_at is not None:
        ids = read_ids(
            plan, delimiter, label, text=text if path is None and data is None else None, path=path, data=data
        )
        if len(ids) != array.shape[0]:
            raise InputError(f"{label}: the id column has {len(ids)} rows but the table {array.shape[0]}")
    if array.shape[0] == 1 or array.shape[1] == 1:
        array = array.reshape(-1)
    return TextTable(array, header, skipped_index, suspicious_header, plan, ids)


def read_ids(
    plan: TablePlan, delimiter: str | None, label: str, *, text: str | None, path: str | None, data: bytes | None
) -> NDArray[np.str_]:
    """The id column a plan names, as text, from a short ``text``, a file at ``path`` or ``data`` bytes."""
    assert plan.ids_at is not None
    try:
        if text is not None:
            return text_column(io.StringIO(text), plan.skip, delimiter, plan.ids_at, label)
        if data is not None:
            with io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="") as stream:
                return text_column(stream, plan.skip, delimiter, plan.ids_at, label)
        assert path is not None
        with open(path, encoding="utf-8-sig", newline="") as stream:
            return text_column(stream, plan.skip, delimiter, plan.ids_at, label)
    except UnicodeDecodeError:
        raise not_text(label) from None
    except OSError as error:
        raise InputError(f"{label} cannot be read: {error.strerror or error}") from None


_BYTES_PER_READ = 1 << 23  # numpy's parser reads rows of about this many float64 bytes at a time, from bytes in memory


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


def parse_rows(text: str, delimiter: str | None, usecols: list[int] | None) -> NDArray[np.float64]:
    """The rows of ``text`` (:func:`~ce_cli.io.columns.is_row`: lines of blanks are none) by numpy's parser.

    Raises:
        ValueError: numpy's parser refused a row.
    """
    return loadtxt_rows(list(data_lines(text.split("\n"))), 0, delimiter, usecols, None)


def _read_rows(
    body: IO[str], skip: int, delimiter: str | None, usecols: list[int] | None, capacity: int, width: int
) -> NDArray[np.float64]:
    """The table's rows, parsed by numpy a block of rows at a time into one array.

    A block holds about ``_BYTES_PER_READ`` bytes of float64 for rows of ``width`` values (numpy's parser
    sets aside room for the rows it is asked for), so a row of 200,000 values costs its own size, not
    a block of 65,536 such rows.

    Raises:
        ValueError: numpy's parser refused a row, or the rows change width.
    """
    for _ in range(skip):
        body.readline()
    rows_per_read = max(1, _BYTES_PER_READ // (8 * max(1, width)))
    out: NDArray[np.float64] | None = None
    filled = 0
    while True:
        block = loadtxt_rows(body, 0, delimiter, usecols, rows_per_read)
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
        if block.shape[0] < rows_per_read:
            break
    return np.zeros((0, 0)) if out is None else out[:filled]


def _read_text(path: str, label: str) -> str:
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise not_text(label) from None


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
                others = (len(usecols) if usecols is not None else len(cells)) - 1
                raise CellError(f"{label}: line {line_number}, column {column}: {cell!r} is not a number", name, others)
        if len(cells) != width:
            raise InputError(f"{label}: line {line_number} has {len(cells)} values, but earlier rows have {width}")
