"""Formats people hold that ce-loss does not read, each refused in one line with the command that converts it;
and JSON nested lists of numbers, read as arrays."""

from __future__ import annotations

import os

import numpy as np
from numpy.typing import NDArray

from ce_cli.errors import CompressedInputError, InputError

# Formats people have that ce-loss does not read, and the one line that converts each.
_CONVERSIONS = {
    ".jsonl": (
        "JSON Lines",
        "--logprobs x.jsonl for per-token log-probabilities; for a table of logits, "
        "pandas.read_json('x.jsonl', lines=True).to_csv('x.csv', index=False)",
    ),
    ".ndjson": (
        "JSON Lines",
        "--logprobs x.ndjson for per-token log-probabilities; for a table of logits, "
        "pandas.read_json('x.ndjson', lines=True).to_csv('x.csv', index=False)",
    ),
    ".pkl": ("a pickle (ce-loss never unpickles)", "np.save('x.npy', numpy_array) where it was made"),
    ".pickle": ("a pickle (ce-loss never unpickles)", "np.save('x.npy', numpy_array) where it was made"),
}
_COMPRESSED = {".gz": "gunzip -c", ".bz2": "bunzip2 -c", ".xz": "xz -dc", ".zst": "zstd -dc"}


def refuse_unread_format(path: str, label: str) -> None:
    """An input of a format ce-loss does not read: one line naming it and how to convert it.

    Raises:
        InputError: ``path``'s suffix names such a format.
    """
    suffix = os.path.splitext(path)[1].lower()
    if suffix in _CONVERSIONS:
        name, command = _CONVERSIONS[suffix]
        raise InputError(f"{label} is {name}, which ce-loss does not read; convert it, e.g. {command}")
    if suffix in _COMPRESSED:
        raise CompressedInputError(label, suffix, path, _COMPRESSED[suffix])


def json_array(text: str, label: str) -> NDArray[np.float64]:
    """A JSON nested list of numbers as a float64 array.

    Raises:
        InputError: malformed JSON, nested deeper than Python parses, numbers beyond float64 or
            beyond Python's integer conversion, or rows of unequal length.
    """
    import json  # here: most runs read no JSON, and the import costs start-up

    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"{label}: malformed JSON: {error}") from None
    except RecursionError:
        raise InputError(f"{label}: malformed JSON: nested too deeply") from None
    except ValueError as error:  # an integer of more digits than Python converts
        raise InputError(f"{label}: malformed JSON: {error}") from None
    try:
        array: NDArray[np.float64] = np.array(value, dtype=np.float64)
    except OverflowError:
        raise InputError(f"{label}: the JSON holds an integer beyond float64") from None
    except (ValueError, TypeError, RecursionError):
        raise InputError(f"{label}: the JSON must be a nested list of numbers with rows of equal length") from None
    return array
