"""How numbers and indices are spelled in every output: full precision, strict JSON, short table cells."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, TextIO

import numpy as np
from numpy.typing import NDArray

_NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


def format_number(value: float) -> str:
    """Full precision (shortest round-trip repr), or ``NaN``/``Infinity``/``-Infinity``."""
    value = float(value)
    if math.isnan(value):
        return "NaN"
    return _NON_FINITE.get(value, repr(value))


def json_number(value: float) -> float | str:
    """A float for JSON, or the string spelling of a non-finite one."""
    value = float(value)
    return value if math.isfinite(value) else format_number(value)


def json_values(values: NDArray[Any]) -> Any:
    """Nested lists (a number for a 0-d array) with non-finite values as strings."""
    array = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(array)
    if finite.all():
        return array.tolist()
    spelled = array.astype(object)
    spelled[np.isnan(array)] = "NaN"
    spelled[array == math.inf] = "Infinity"
    spelled[array == -math.inf] = "-Infinity"
    return spelled.tolist()


class JsonItems(NamedTuple):
    """A JSON list of ``length`` items made a block at a time: ``items(start, stop)`` gives items ``start:stop``."""

    length: int
    items: Callable[[int, int], list[Any]]


def write_json_line(value: dict[str, Any], stream: TextIO, streamed: dict[str, Any] | None = None) -> None:
    """One strict-JSON object on one line (a non-finite float here is a bug: spell it first).

    ``streamed``: lists written under those keys (already present in ``value``, with any stand-in) a
    block at a time, so that millions of losses never become one list or one string in memory: a float
    array (spelled as :func:`json_values` spells it), or :class:`JsonItems`.
    """
    import json

    if not streamed:
        stream.write(json.dumps(value, allow_nan=False) + "\n")
        return
    marks = {key: f"\x00{key}\x00" for key in streamed}
    text = json.dumps({k: marks.get(k, v) for k, v in value.items()}, allow_nan=False)
    for key in sorted(streamed, key=lambda k: text.index(json.dumps(marks[k]))):  # in the order they are written
        array = streamed[key]
        before, text = text.split(json.dumps(marks[key]), 1)
        stream.write(before)
        if isinstance(array, JsonItems):
            _write_json_items(array, stream)
        else:
            _write_json_array(np.asarray(array, dtype=np.float64), stream)
    stream.write(text + "\n")


STREAM_BLOCK = 1 << 16  # values formatted at a time by the streamed writers


def _write_json_array(array: NDArray[np.float64], stream: TextIO) -> None:
    """``array`` as nested JSON lists, as :func:`json_values` spells it, written a block at a time."""
    import json

    if array.ndim == 0:
        stream.write(json.dumps(json_values(array)))
        return
    stream.write("[")
    rows = len(array)
    step = max(1, STREAM_BLOCK // max(1, array[0].size if rows else 1))
    for start in range(0, rows, step):
        block = array[start : start + step]
        if block.ndim == 1:
            cells = spelled(block, quote=True)
        else:
            cells = [json.dumps(json_values(row), separators=(", ", ": ")) for row in block]
        stream.write((", " if start else "") + ", ".join(cells))
    stream.write("]")


def _write_json_items(items: JsonItems, stream: TextIO) -> None:
    import json

    stream.write("[")
    for start in range(0, items.length, STREAM_BLOCK):
        block = items.items(start, min(items.length, start + STREAM_BLOCK))
        stream.write((", " if start else "") + ", ".join(json.dumps(item, allow_nan=False) for item in block))
    stream.write("]")


def spelled(values: NDArray[Any], *, quote: bool = False) -> list[str]:
    """:func:`format_number` of every value of a 1-D array (``quote``: non-finite ones as JSON strings)."""
    array = np.asarray(values, dtype=np.float64)
    out = list(map(repr, array.tolist()))
    bad = np.flatnonzero(~np.isfinite(array))
    for i in bad.tolist():
        word = format_number(array[i])
        out[i] = f'"{word}"' if quote else word
    return out


def _plain(values: Iterable[float], upper: float) -> bool:
    """Whether plain notation spells every value of a cell or column: each finite non-zero one in [1e-4, upper)."""
    sizes = (abs(float(v)) for v in values)
    return all(size == 0.0 or not math.isfinite(size) or 1e-4 <= size < upper for size in sizes)


def _spelling(plain: bool, plain_spec: str, scientific_spec: str) -> Callable[[float], str]:
    """Cells in one notation, non-finite values as :func:`format_number` spells them."""
    spec = plain_spec if plain else scientific_spec

    def spell(value: float) -> str:
        value = float(value)
        return format(value, spec) if math.isfinite(value) else format_number(value)

    return spell


def short_number(value: float) -> str:
    """Six decimals for the table; scientific notation outside [1e-4, 1e6)."""
    return _spelling(_plain([value], 1e6), ".6f", ".6e")(value)


def column_format(values: Iterable[float]) -> Callable[[float], str]:
    """One format for a column of table cells: six decimals when every finite non-zero value is in
    [1e-4, 1e6), else scientific notation for all of them (a column never mixes the two)."""
    return _spelling(_plain(values, 1e6), ".6f", ".6e")


def significant_column_format(values: Iterable[float], digits: int = 10) -> Callable[[float], str]:
    """One format for a column of ``digits`` significant digits: plain when every finite non-zero value
    is in [1e-4, 10**digits) (where ``g`` formatting stays plain), else scientific for all of them."""
    return _spelling(_plain(values, 10.0**digits), f".{digits}g", f".{digits - 1}e")


def index_text(index: tuple[int, ...]) -> str:
    """``3`` for a 1-D sample index, ``(2, 3)`` for a K-dimensional one, ``0`` for unbatched."""
    if len(index) == 1:
        return str(index[0])
    return str(index) if index else "0"
