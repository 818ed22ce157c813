"""The API's arguments turned into arrays and numbers, or refused with the project's errors. Pure numpy.

Every public function converts what it is given here, so that a ragged list, a
string where a number belongs or an integer argument given as a float is a
:class:`~ce_cli.errors.CeLossError` (or a ``TypeError`` where PyTorch raises one),
never numpy's bare ``ValueError`` and never a silent truncation.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ce_cli.errors import InputError, OptionError

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_KINDS = {"b": "booleans", "c": "complex numbers", "U": "strings", "S": "bytes", "O": "objects"}


def real_array(value: Any, name: str) -> NDArray[Any]:
    """``value`` as an array of real numbers (integers or floats), as given.

    Raises:
        InputError: rows of unequal length, or values that are not real numbers (strings,
            complex numbers, booleans, objects), naming ``name``.
    """
    try:
        array = np.asarray(value)
    except (ValueError, TypeError, OverflowError):
        raise InputError(f"{name} must be a nested list of numbers with rows of equal length") from None
    if array.dtype.kind not in "fiu":
        what = _KINDS.get(array.dtype.kind, f"dtype {array.dtype}")
        raise InputError(f"{name} must hold real numbers, not {what}")
    return array


def whole_number(value: Any, name: str) -> int:
    """An integer argument, as PyTorch takes one (``ignore_index``, ``class_axis``).

    Raises:
        TypeError: not an integer (PyTorch: "argument 'ignore_index' must be int, not float").
        OptionError: beyond int64.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    number = int(value)
    if not INT64_MIN <= number <= INT64_MAX:
        raise OptionError(f"{name} {number} is beyond int64")
    return number


def real_number(value: Any, name: str) -> float:
    """A real-number argument (``label_smoothing``, ``eps``).

    Raises:
        TypeError: not a real number (PyTorch: "must be float, not str").
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, not {type(value).__name__}")
    return float(value)
