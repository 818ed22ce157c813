"""Which CSV dialect a text table is written in: its delimiter, and decimal commas.

Pure text, no printing. Spreadsheets in locales whose decimal mark is a comma
(European Excel, ``pandas.to_csv(sep=";", decimal=",")``) write ``;`` between
cells and ``0,5`` for one half. Such a table is read with its commas as decimal
points, never as other numbers; thousands separators beside them are refused.
"""

from __future__ import annotations

import re

from ce_cli.errors import InputError

# What each delimiter is called where the run says what it read.
FORMS: dict[str | None, str] = {",": "csv", "\t": "tsv", None: "text", ";": "csv (;-separated)"}
_SUFFIX_DELIMITERS = {".csv": ",", ".tsv": "\t", ".txt": None}
_THOUSANDS = re.compile(r"\d\.\d{3}(?:[.,;]|\s|$)")


def first_row(text: str) -> tuple[int, str] | None:
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


def sniff_delimiter(text: str) -> str | None:
    """Tab, ``;`` or comma if the first row has one (in that order), else whitespace."""
    first = first_row(text)
    if first is None:
        return None
    line = first[1]
    for delimiter in ("\t", ";", ","):
        if delimiter in line:
            return delimiter
    return None


def semicolon_separated(head: bytes) -> bool:
    """Whether the first row of a ``.csv`` file is ``;``-separated (a spreadsheet in a decimal-comma locale)."""
    for line in head.split(b"\n"):
        stripped = line.strip()
        if stripped and not stripped.startswith(b"#"):
            return b";" in stripped and b"\t" not in stripped
    return False


def table_delimiter(suffix: str, text: str) -> str | None:
    """The delimiter of a text table: its suffix's (``.csv`` may be ``;``-separated), else sniffed."""
    if suffix == ".csv":
        return ";" if sniff_delimiter(text) == ";" else ","
    if suffix in _SUFFIX_DELIMITERS:
        return _SUFFIX_DELIMITERS[suffix]
    return sniff_delimiter(text)


def decimal_commas(data: bytes, text: str, label: str) -> tuple[bytes, str]:
    """A ``;``-separated table's bytes and head with its decimal commas as points.

    Raises:
        InputError: the table also has points, as thousands separators (``1.234,5``), which
            cannot be told from decimals.
    """
    found = _THOUSANDS.search(text)
    if found is not None and "," in text:
        raise InputError(
            f"{label} is ;-separated with decimal commas and '.' between thousands ({found[0].strip()!r}): "
            "ce-loss does not guess at thousands separators; export the numbers without them"
        )
    return data.replace(b",", b"."), text.replace(",", ".")
