"""How a text table is read, decided from its first rows: which row is the header, which columns are kept.

Pure text, no printing. :func:`plan_table` holds the header rules (a first row
that is not all numbers; pandas' default column names ``0, 1, ..., k``;
``--header``/``--no-header``) and resolves the columns a user named (to leave
out, for the logits, the target, the ids) to positions in the file.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator

from ce_cli.errors import ColumnChoiceError, InputError, OptionError
from ce_cli.io.columns import (
    NO_CHOICE,
    ColumnChoice,
    HeaderMode,
    column_index,
    data_lines,
    integer_written,
    target_position,
)
from ce_cli.io.dialects import first_row
from ce_cli.records import frozen


def split_cells(line: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return line.split()
    return [cell.strip() for cell in next(csv.reader([line], delimiter=delimiter))]


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


@frozen
class TablePlan:
    """How a table's rows are read, from its first rows: its header and the columns kept.

    Attributes:
        header: the names of the columns kept, or ``None`` without a header row.
        skip: the lines before the first data row (the header and any blank or comment lines before it).
        usecols: the 0-based columns kept, or ``None`` for all of them.
        width: the number of columns of the first row.
        first: the first row's line, or ``None`` for a table without one.
        skipped_index, suspicious_header: as :class:`~ce_cli.io.text_tables.TextTable` says.
        file_header: the header row as written, every column, or ``None``.
        numeric_header: the header is a first row of numbers ``0, 1, ..., k`` (pandas' default column
            names), taken as a header by that rule rather than forced.
        numbered_first_row: the first row is ``0, 1, ..., k``, whether taken as a header or as data.
        ids_at: the 0-based position in the file of the id column, or ``None``.
        target_at: the target column's position among the columns kept, or ``None``.
        dropped: the 0-based positions in the file of the columns left out by choice (not the row index
            nor the ids).
        integer_text: every data cell read in the first rows is written as an integer (``3``, not ``3.0``).
    """

    header: tuple[str, ...] | None
    skip: int
    usecols: list[int] | None
    width: int
    first: str | None
    skipped_index: bool
    suspicious_header: str | None
    file_header: tuple[str, ...] | None = None
    numeric_header: bool = False
    numbered_first_row: bool = False
    ids_at: int | None = None
    target_at: int | None = None
    dropped: tuple[int, ...] = ()
    integer_text: bool = False

    @property
    def kept(self) -> int:
        return self.width if self.usecols is None else len(self.usecols)

    @property
    def kept_columns(self) -> list[int]:
        """The 0-based positions in the file of the columns read as numbers."""
        return list(range(self.width)) if self.usecols is None else list(self.usecols)

    def name(self, position: int) -> str:
        """A column of the file by its header name, or by its 0-based index where there is no header."""
        return self.file_header[position] if self.file_header is not None else str(position)


def _rows_after(text: str, start: int) -> Iterator[str]:
    """The data rows of ``text`` after line ``start`` (blank and comment lines passed over)."""
    return data_lines(text.split("\n")[start:])


def _numbered(cells: list[str]) -> bool:
    """Whether cells are exactly ``0, 1, ..., k``: pandas' default column names (a RangeIndex)."""
    return bool(cells) and [c.strip() for c in cells] == [str(i) for i in range(len(cells))]


def plan_table(
    text: str,
    delimiter: str | None,
    label: str,
    *,
    allow_header: bool,
    choice: ColumnChoice = NO_CHOICE,
    header_mode: HeaderMode = "auto",
) -> TablePlan:
    """Read the header rules off the beginning of a table (see :func:`~ce_cli.io.text_tables.parse_table`).

    The first row is a header when it is not all numbers, or when it is exactly ``0, 1, ..., k``
    (pandas' default column names, as ``DataFrame.to_csv(index=False)`` writes them) above a row that
    is not; ``header_mode`` ``"yes"`` or ``"no"`` decides instead.

    Raises:
        OptionError: a column in ``choice`` that the table does not have, or one that leaves no column.
    """
    first = first_row(text)
    cells = split_cells(first[1], delimiter) if first is not None else []
    # A comment ends a row for numpy's parser, so it ends it for the header rule too.
    data_cells = split_cells(first[1].split("#", 1)[0], delimiter) if first is not None else []
    numbered = _numbered(data_cells)
    following = next(_rows_after(text, first[0] + 1), None) if first is not None else None
    is_header = allow_header and first is not None and header_mode != "no"
    if is_header and header_mode == "auto" and all(is_number(cell) for cell in data_cells):
        is_header = numbered and following is not None and not _numbered(split_cells(following, delimiter))
    header = tuple(cells) if is_header else None
    numeric_header = is_header and header_mode == "auto" and numbered
    skip = first[0] + 1 if header is not None and first is not None else 0
    suspicious_header = None
    if header is not None and not numeric_header:
        typos = [cell for cell in cells if almost_number(cell)]
        if typos:  # a data row with a typo, rather than names
            suspicious_header = typos[0]
        elif not _names_like_numbers(cells):
            suspicious_header = next((cell for cell in cells if not is_number(cell)), None)
    width = len(cells)
    skipped_index = header is not None and width > 1 and header[0] == ""
    dropped = {column_index(name, header, width, label, "to leave out") for name in choice.drop}
    ids_at = None if choice.ids is None else column_index(choice.ids, header, width, label, "for the ids")
    left_out = ({0} if skipped_index else set()) | dropped | ({ids_at} if ids_at is not None else set())
    remaining = [i for i in range(width) if i not in left_out]
    target = None if choice.target is None else target_position(choice.target, header, remaining, label)
    if choice.logits is not None:
        logit_at = [column_index(name, header, width, label, "for the logits") for name in choice.logits]
        if logit_at != sorted(set(logit_at)) or target in logit_at or (ids_at is not None and ids_at in logit_at):
            raise ColumnChoiceError("logits")
        kept = sorted({*logit_at, *([target] if target is not None else [])})
    else:
        kept = remaining
    if not kept and width:
        raise OptionError(f"{label}: leaving out {len(left_out)} columns leaves none")
    file_header = header
    if header is not None:
        header = tuple(header[i] for i in kept)
    line = None if first is None else first[1]
    kept_set = set(kept)
    integer_text = integer_written(
        cell for row in _rows_after(text, skip) for i, cell in enumerate(split_cells(row, delimiter)) if i in kept_set
    )
    if integer_text and delimiter == ",":
        _refuse_decimal_commas(text, skip, kept_set, label)
    return TablePlan(
        header,
        skip,
        None if kept == list(range(width)) else kept,
        width,
        line,
        skipped_index,
        suspicious_header,
        file_header,
        numeric_header,
        numbered and first is not None,
        ids_at,
        None if target is None else kept.index(target),
        tuple(sorted(dropped - {ids_at})),
        integer_text,
    )


_LEADING_ZERO = re.compile(r"\s*[+-]?0\d+\s*", re.ASCII)


def _refuse_decimal_commas(text: str, skip: int, kept: set[int], label: str) -> None:
    """A comma-separated table of integers with a cell such as ``05``: no writer spells a number so, but
    decimal commas split into cells do (``0,05`` is ``0`` and ``05``), so refuse it rather than read other
    numbers.

    Raises:
        InputError: naming the cell.
    """
    for row in _rows_after(text, skip):
        for i, cell in enumerate(split_cells(row, ",")):
            if i in kept and _LEADING_ZERO.fullmatch(cell):
                raise InputError(
                    f"{label}: a cell {cell.strip()!r} (a number with a leading zero) in a comma-separated table of "
                    f"whole numbers looks like decimal commas split into cells ({row.strip()!r}); export it with '.' "
                    "as the decimal mark, or with ';' between cells"
                )
