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


def short_number(value: float) -> str:
    """Six decimals for the table; scientific notation outside [1e-4, 1e6)."""
    value = float(value)
    if not math.isfinite(value):
        return format_number(value)
    if value == 0.0 or 1e-4 <= abs(value) < 1e6:
        return f"{value:.6f}"
    return f"{value:.6e}"


def column_format(values: Iterable[float]) -> Callable[[float], str]:
    """One format for a column of table cells: six decimals when every finite non-zero value is in
    [1e-4, 1e6), else scientific notation for all of them (a column never mixes the two)."""
    sizes = [abs(float(v)) for v in values]
    fixed = all(size == 0.0 or not math.isfinite(size) or 1e-4 <= size < 1e6 for size in sizes)

    def spell(value: float) -> str:
        value = float(value)
        if not math.isfinite(value):
            return format_number(value)
        return f"{value:.6f}" if fixed else f"{value:.6e}"

    return spell


def significant_column_format(values: Iterable[float], digits: int = 10) -> Callable[[float], str]:
    """One format for a column of ``digits`` significant digits: plain when every finite non-zero value
    is in [1e-4, 10**digits) (where ``g`` formatting stays plain), else scientific for all of them."""
    sizes = [abs(float(v)) for v in values]
    plain = all(size == 0.0 or not math.isfinite(size) or 1e-4 <= size < 10.0**digits for size in sizes)

    def spell(value: float) -> str:
        value = float(value)
        if not math.isfinite(value):
            return format_number(value)
        return f"{value:.{digits}g}" if plain else f"{value:.{digits - 1}e}"

    return spell


def index_text(index: tuple[int, ...]) -> str:
    """``3`` for a 1-D sample index, ``(2, 3)`` for a K-dimensional one, ``0`` for unbatched."""
    if len(index) == 1:
        return str(index[0])
    return str(index) if index else "0"


def sample_index(position: int, sample_shape: tuple[int, ...]) -> str:
    """:func:`index_text` of the flat ``position`` in ``sample_shape``."""
    return index_text(tuple(int(i) for i in np.unravel_index(position, sample_shape)))
