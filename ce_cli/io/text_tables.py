"""Numeric text tables (CSV, TSV, whitespace-separated) into float64 arrays.

Pure parsing, no printing. numpy's C parser (``np.loadtxt``) does the work, so
a large file costs what ``np.loadtxt`` costs; only when it refuses the text is
it read line by line, to name the row and column of the first bad cell.
"""

from __future__ import annotations

import csv
import io
import warnings
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ce_cli.errors import InputError


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


def parse_table(
    text: str,
    delimiter: str | None,
    label: str,
    *,
    allow_header: bool,
    path: str | None = None,
) -> tuple[NDArray[np.float64], tuple[str, ...] | None]:
    """Parse delimited numeric text into a float64 array with numpy's C parser.

    Blank lines and ``#`` comments are skipped. With ``allow_header``, a first
    row that is not all numbers is the header. Given ``path``, ``text`` need
    only hold the file's beginning (for the header): ``np.loadtxt`` reads the
    file itself, so a large CSV costs what ``np.loadtxt`` costs. Only when that
    fails is the text read line by line, to name the bad cell.

    Returns:
        ``(array, header)``: ``array`` is ``(rows, columns)``, or 1-D when the
        table has one row or one column; ``header`` is ``None`` without one.

    Raises:
        InputError: naming the row (1-based line) and column of a bad cell.
    """
    first = _first_row(text)
    if first is None and path is None:
        raise InputError(f"{label} holds no numbers")
    header: tuple[str, ...] | None = None
    skip = 0
    if allow_header and first is not None:
        cells = split_cells(first[1], delimiter)
        if not all(is_number(cell) for cell in cells):
            header, skip = tuple(cells), first[0] + 1
    source: Any = path if path is not None else io.StringIO(text)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data": reported below
            array = np.loadtxt(
                source,
                delimiter=delimiter,
                dtype=np.float64,
                ndmin=2,
                skiprows=skip,
                comments="#",
                quotechar='"' if delimiter is not None else None,
                encoding="utf-8-sig",
            )
    except UnicodeDecodeError:
        raise not_text(label) from None
    except ValueError:
        whole = text if path is None else _read_text(path, label)
        lines = whole.splitlines()
        numbered = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")]
        _raise_first_bad_cell(numbered[1:] if header else numbered, delimiter, label, header)
        raise InputError(f"{label} could not be parsed as a table of numbers") from None
    if array.size == 0:
        raise InputError(f"{label} has a header but no rows of numbers" if header else f"{label} holds no numbers")
    if header is not None and array.shape[1] != len(header):
        raise InputError(f"{label}: the header has {len(header)} columns but the rows have {array.shape[1]}")
    if array.shape[0] == 1 or array.shape[1] == 1:
        array = array.reshape(-1)
    return array, header


def _read_text(path: str, label: str) -> str:
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise not_text(label) from None


def is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _raise_first_bad_cell(
    numbered: list[tuple[int, str]], delimiter: str | None, label: str, header: tuple[str, ...] | None
) -> None:
    """Find the cell np.loadtxt refused and raise an error naming it."""
    width = len(header) if header is not None else None
    for line_number, line in numbered:
        cells = split_cells(line, delimiter)
        if width is None:
            width = len(cells)
        for column, cell in enumerate(cells, start=1):
            if cell == "":
                raise InputError(f"{label}: line {line_number}, column {column} is empty")
            if not is_number(cell):
                raise InputError(f"{label}: line {line_number}, column {column}: {cell!r} is not a number")
        if len(cells) != width:
            raise InputError(f"{label}: line {line_number} has {len(cells)} values, but earlier rows have {width}")
