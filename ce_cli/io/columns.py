"""Which columns of a text table are what: logits, targets, ids, left out; and which cannot be logits.

Pure text and numpy, no printing. A table exported from pandas, R, polars or a
spreadsheet often carries columns that are not logits: a row index, an id, a
fold number, the label. :func:`stray_logit_column` finds such a column among
the logit columns by its name or by its values (whole numbers beside columns
that are not), so that it is refused rather than scored as a class.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from typing import IO, Literal

import numpy as np
from numpy.typing import NDArray

from ce_cli.errors import InputError, OptionError
from ce_cli.records import frozen

HeaderMode = Literal["auto", "yes", "no"]

_INDEX = re.compile(r"-?\d{1,18}")
_ID_WORDS = frozenset({"id", "ids", "idx", "index", "sample", "fold", "row", "rowid", "uid", "uuid", "key", "sampleid"})
_LABEL_WORDS = frozenset({"label", "labels", "target", "targets", "y", "class", "truth", "gt", "ground_truth"})
_WHOLE = re.compile(r"\s*[+-]?\d+\s*", re.ASCII)


@frozen
class ColumnChoice:
    """The columns of a logits table the user named, as given (header names or 0-based indices).

    Attributes:
        drop: columns to leave out (``--drop-columns``); indices count every column of the file.
        logits: the logit columns, chosen explicitly (``--logit-columns``), or ``None`` for every
            column not otherwise taken; indices count every column of the file.
        target: the target column (``--target-column``); an index counts the columns that remain
            after the row index, ``drop`` and ``ids`` are left out.
        ids: a column of sample ids, any text (``--id-column``); indices count every column of the file.
    """

    drop: tuple[str, ...] = ()
    logits: tuple[str, ...] | None = None
    target: str | None = None
    ids: str | None = None


NO_CHOICE = ColumnChoice()


def column_index(name: str, header: tuple[str, ...] | None, width: int, label: str, what: str) -> int:
    """The 0-based position of a column given by header name or by index (negative from the end).

    Raises:
        OptionError: no such column.
    """
    if header is not None and name in header:
        return header.index(name)
    if _INDEX.fullmatch(name.strip()) and -width <= int(name) < width:
        return int(name) % width
    known = (
        f"its columns are: {', '.join(repr(h) for h in header)}"
        if header
        else f"it has no header row ({width} columns)"
    )
    raise OptionError(f"{label} has no column {name!r} {what}; {known}")


def target_position(name: str, header: tuple[str, ...] | None, remaining: list[int], label: str) -> int:
    """The target column's position: a header name, or an index among the ``remaining`` positions (the
    columns not left out; every column of an array read without a plan).

    Raises:
        OptionError: no such column, or one that is also left out (or taken as the ids or the row index).
    """
    if header is not None and name in header:
        position = header.index(name)
        if position not in remaining:
            raise OptionError(f"{label}: column {name!r} is taken as the targets and also left out")
        return position
    if _INDEX.fullmatch(name.strip()):
        index = int(name)
        if not -len(remaining) <= index < len(remaining):
            raise OptionError(f"target column {index} is out of range for {label} ({len(remaining)} columns)")
        return remaining[index]
    known = f"its columns are: {', '.join(h for h in header if h)}" if header else "it has no header row"
    raise OptionError(f"{label} has no column named {name!r}; {known}")


def _words(name: str) -> list[str]:
    """``"sampleId"``, ``"sample_id"``, ``"Sample ID"`` -> ``["sample", "id"]``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name.strip())
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def names_an_identifier(name: str) -> bool:
    """Whether a column's header says it holds identifiers: id, idx, index, sample, fold, row, ..."""
    words = _words(name)
    return any(w in _ID_WORDS for w in words) or "".join(words) in _ID_WORDS


def names_a_label(name: str) -> bool:
    """Whether a column's header says it holds the targets: label, target, y, class, ..."""
    words = _words(name)
    return bool(words) and ("_".join(words) in _LABEL_WORDS or words[-1] in _LABEL_WORDS)


@frozen
class StrayColumn:
    """A logit column that is not a logit.

    Attributes:
        position: its 0-based position among the logit columns.
        name: its header name, or its 0-based index in the file as text.
        reason: why (a phrase: "its name says it holds ids").
        label_like: the column looks like the targets (then ``--target-column`` is the fix).
    """

    position: int
    name: str
    reason: str
    label_like: bool


def whole_columns(values: NDArray[np.float64]) -> NDArray[np.bool_]:
    """``(C,)``: which columns of ``(n, C)`` values hold finite whole numbers only."""
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(values) & (values == np.round(values))
    result: NDArray[np.bool_] = whole.all(axis=0)
    return result


def stray_logit_column(values: NDArray[np.float64], names: list[str]) -> StrayColumn | None:
    """The first logit column that is not a logit, or ``None``.

    A column is not a logit when its name says it holds identifiers or the targets, or when it holds
    only whole numbers while some other logit column does not (an id, a fold, a label, a row number).
    A table whose columns are all whole numbers is a genuine table of integer logits.

    Args:
        values: ``(n, C)`` logits as read (some first rows of the table, or all of them).
        names: the ``C`` columns' header names, or their indices in the file as text.
    """
    for position, name in enumerate(names):
        if names_an_identifier(name):
            return StrayColumn(position, name, "its name says it holds identifiers", False)
        if names_a_label(name):
            return StrayColumn(position, name, "its name says it holds the targets", True)
    if values.ndim != 2 or values.shape[1] < 2 or values.shape[0] == 0:
        return None
    whole = whole_columns(values)
    if whole.all() or not whole.any():
        return None
    position = int(np.argmax(whole))
    return StrayColumn(
        position, names[position], "it holds only whole numbers while the other logit columns do not", False
    )


def integer_written(cells: Iterable[str]) -> bool:
    """Whether every cell is written as an integer (``3``, ``-1``), as writers write integer dtypes; a
    float dtype is written with a point or an exponent (``1.0``, ``1e+00``)."""
    seen = False
    for cell in cells:
        if _WHOLE.fullmatch(cell) is None:
            return False
        seen = True
    return seen


def is_row(line: str) -> bool:
    """Whether a line of a text table is a row: not empty, nor blanks only, once a ``#`` comment is cut off.

    The one rule of what a row is, for every reader and counter (the compiled parser's ``ce_skipped``
    too); numpy's parser, which takes a line of blanks between commas for a row, is given such lines
    filtered out (:func:`~ce_cli.io.text_tables.parse_rows`).
    """
    return bool(line.split("#", 1)[0].strip(" \t\r\n"))


def data_lines(lines: Iterable[str]) -> Iterator[str]:
    """The lines that are rows (:func:`is_row`), without their line ends."""
    for line in lines:
        if is_row(line):
            yield line.rstrip("\r\n")


_NAMES_PER_BLOCK = 1 << 16


def text_column(stream: IO[str], skip: int, delimiter: str | None, position: int, label: str) -> NDArray[np.str_]:
    """One column of a text table as text (ids), row by row, from where ``stream`` stands.

    Args:
        stream: the table's text, at its beginning.
        skip: the lines before the first data row (the header and what precedes it).
        delimiter: the cell delimiter (``None``: whitespace).
        position: the column's 0-based position in the file.
        label: how messages name the table.

    Raises:
        InputError: a row without that column.
    """
    for _ in range(skip):
        stream.readline()
    blocks: list[NDArray[np.str_]] = []  # a block of names at a time: numpy text, not millions of str objects
    values: list[str] = []
    for number, line in enumerate(data_lines(stream), start=1):
        if delimiter is None:
            cells = line.split()
        elif '"' in line:
            cells = next(csv.reader([line], delimiter=delimiter))
        else:
            cells = line.split(delimiter)
        if position >= len(cells):
            raise InputError(f"{label}: data row {number} has no column {position} for the ids")
        values.append(cells[position].strip())
        if len(values) == _NAMES_PER_BLOCK:
            blocks.append(np.array(values, dtype=np.str_))
            values = []
    blocks.append(np.array(values, dtype=np.str_))
    return blocks[0] if len(blocks) == 1 else np.concatenate(blocks)


def line_of_row(path: str, skip: int, row: int) -> int | None:
    """The 1-based line of ``path`` that holds data row ``row`` (0-based) of a table whose data starts after
    ``skip`` lines (blank and comment lines are no rows, :func:`is_row`); ``None`` if it cannot be read."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace", newline="") as stream:
            number = 0
            for number, line in enumerate(stream, start=1):
                if number > skip and is_row(line):
                    if row == 0:
                        return number
                    row -= 1
    except OSError:
        return None
    return None
