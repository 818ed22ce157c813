"""How numbers and indices are spelled in every output: full precision, strict JSON, short table cells."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, TextIO

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


def write_json_line(value: dict[str, Any], stream: TextIO) -> None:
    """One strict-JSON object on one line (a non-finite float here is a bug: spell it first)."""
    import json

    stream.write(json.dumps(value, allow_nan=False) + "\n")


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
