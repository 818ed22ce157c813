"""Checks that what was read fits what it is taken for, before anything is computed.

Pure numpy, no printing. Three mistakes that would otherwise give a confident
wrong number:

- a first row of ``0, 1, ..., k`` is pandas' column names in one file and data
  in another (a targets file whose first class is 0): the row counts of the
  logits and the targets decide (:func:`pair_numbered_rows`);
- a column among the logits that is an id, a fold or the labels
  (:func:`refuse_stray_column`);
- targets written as integers, which PyTorch sees as an integer dtype
  (:func:`whole_numbers`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ce_cli.errors import StrayColumnError
from ce_cli.io.columns import HeaderMode, stray_logit_column
from ce_cli.io.sources import SourceArray
from ce_cli.layout import LeadingReader
from ce_cli.records import replace

_INT64_LIMIT = 2.0**63
_ROWS_LOOKED_AT = 1 << 16  # rows of a file read block by block that the stray-column check looks at


def _rows(source: SourceArray) -> int | None:
    """The rows of a text table held in memory, or ``None`` for any other source."""
    array, plan = source.array, source.plan
    if plan is None or not isinstance(array, np.ndarray) or source.ids is not None:
        return None
    if array.ndim == 2 or (array.ndim == 1 and plan.kept == 1):
        return int(array.shape[0])
    return None


def _header_as_data(source: SourceArray) -> SourceArray:
    """The table with its numeric header ``0, 1, ..., k`` put back as its first row of data."""
    plan = source.plan
    assert plan is not None
    assert plan.file_header is not None
    row = np.array([float(plan.file_header[i]) for i in plan.kept_columns])
    array = np.asarray(source.array)
    values = np.concatenate([row, array]) if array.ndim == 1 else np.vstack([row, array])
    plan = replace(plan, header=None, file_header=None, numeric_header=False, skip=0)
    return replace(source, array=values, columns=None, plan=plan)


def _first_row_as_header(source: SourceArray) -> SourceArray:
    """The table with its first row of data, ``0, 1, ..., k``, taken as pandas' column names."""
    plan = source.plan
    assert plan is not None
    names = tuple(str(i) for i in range(plan.width))
    header = tuple(names[i] for i in plan.kept_columns)
    plan = replace(plan, header=header, file_header=names, numeric_header=True)
    return replace(source, array=np.asarray(source.array)[1:], columns=header, plan=plan)


def pair_numbered_rows(
    logits: SourceArray, targets: SourceArray, mode: HeaderMode
) -> tuple[SourceArray, SourceArray, tuple[str | None, str | None]]:
    """Decide a first row of ``0, 1, ..., k`` by the other input's row count.

    Such a row is pandas' column names (``Series.to_csv(index=False)`` writes ``0``), or data (a
    targets file whose first class is 0). :func:`~ce_cli.io.table_plan.plan_table` decides by the
    row below it; where that leaves the logits and the targets one row apart, the other choice
    makes them agree, and is taken. ``mode`` other than ``"auto"`` (``--header``, ``--no-header``)
    is the user's decision, kept.

    Returns:
        The logits and targets, and a note for each on what was decided (``None``: nothing).
    """
    sources = [logits, targets]
    notes: list[str | None] = [None, None]
    rows = [_rows(logits), _rows(targets)]
    if mode != "auto" or None in rows:
        return logits, targets, (None, None)
    # A row kept as data that would be a header is preferred to a header put back as data: a first row of
    # exactly 0, 1, ..., k is far likelier column names than logits.
    for header_wanted in (True, False):
        for i in (0, 1):
            own, other = rows[i], rows[1 - i]
            plan = sources[i].plan
            assert own is not None
            assert other is not None
            assert plan is not None
            first = plan.first
            if header_wanted and plan.numbered_first_row and plan.file_header is None and own == other + 1 > 2:
                sources[i] = _first_row_as_header(sources[i])
                notes[i] = f"its first row ({first}) is pandas' column names, not data: the other input has a row less"
                return sources[0], sources[1], (notes[0], notes[1])
            if not header_wanted and plan.numeric_header and own + 1 == other:
                sources[i] = _header_as_data(sources[i])
                notes[i] = f"its first row ({first}) is data, not pandas' column names: the other input has a row more"
                return sources[0], sources[1], (notes[0], notes[1])
    return sources[0], sources[1], (notes[0], notes[1])


def whole_numbers(values: Any) -> Any:
    """Targets written as integers (``3``, not ``3.0``), as an int64 array: a writer wrote an integer
    dtype, and PyTorch's rules go by the dtype. Anything else is returned as it is."""
    if not isinstance(values, np.ndarray) or values.dtype.kind != "f":
        return values
    finite = np.isfinite(values).all() and (values.size == 0 or float(np.abs(values).max()) < _INT64_LIMIT)
    return values.astype(np.int64) if finite else values


def refuse_stray_column(source: SourceArray, logits: Any, target_at: int | None) -> None:
    """Refuse a column among a text table's logit columns that is not a logit (an id, a fold, the labels).

    Args:
        source: the logits table as read.
        logits: ``(N, C)`` the logit columns (the target column taken out), in memory or a file.
        target_at: the target column's position among the columns read, or ``None``.

    Raises:
        StrayColumnError: naming the column and why (the command line adds the options that fix it).
    """
    plan = source.plan
    if plan is None or len(logits.shape) != 2:
        return
    names = [plan.name(i) for i in plan.kept_columns]
    if target_at is not None:
        del names[target_at]
    if isinstance(logits, np.ndarray):
        values: NDArray[np.float64] = logits.astype(np.float64, copy=False)
    elif isinstance(logits, LeadingReader):
        values = np.asarray(logits.leading(0, min(int(logits.shape[0]), _ROWS_LOOKED_AT)), dtype=np.float64)
    else:
        return
    stray = stray_logit_column(values, names)
    if stray is None:
        return
    raise StrayColumnError(source.label, stray.name, stray.reason, stray.label_like)
