"""What was read, for the user and for scripts: one record per source, and the samples' names.

Pure data, no printing: the command line words a :class:`ReadRecord` as one
line on stderr, the JSON writers put it under ``read``; :class:`SampleNames`
gives each sample the id it was read with (``--id-column``), or the shard file
and row it came from, so that per-sample outputs trace back to rows.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from ce_cli.io.sources import SourceArray
from ce_cli.records import frozen


@frozen
class ReadRecord:
    """What ce-loss took from one source.

    Attributes:
        role: ``"logits"``, ``"targets"``, ``"weight"`` or ``"pos_weight"``.
        label: how messages name the source.
        file: the path or pattern read, ``"-"`` for stdin, ``None`` for inline numbers.
        form: what was read (``"npy"``, ``"csv"``, ``"csv (;-separated) with decimal commas"``, ...).
        shape: the array the source gave (before the target column was taken out).
        header: the header row as written, or ``None``.
        header_rule: why the first row is a header: ``"names"``, ``"pandas' column names 0..k"``,
            ``"--header"``; ``None`` without one.
        logits, targets, weight, ids: the columns that became each (header names, or 0-based indices in
            the file as text), ``None`` where the source gave none.
        dropped: the columns left out by choice.
        index: the column taken as the row index (pandas' or R's), or ``None``.
        note: what else the reading decided, or ``None`` (e.g. a first row of ``0`` kept as data).
    """

    role: str
    label: str
    file: str | None
    form: str
    shape: tuple[int, ...]
    header: tuple[str, ...] | None = None
    header_rule: str | None = None
    logits: tuple[str, ...] | None = None
    targets: tuple[str, ...] | None = None
    weight: tuple[str, ...] | None = None
    ids: str | None = None
    dropped: tuple[str, ...] = ()
    index: str | None = None
    note: str | None = None

    @property
    def informative(self) -> bool:
        """Whether a line about it tells the user something: a text table with a header, columns left
        out or taken as an index, a target or id column, or a decision worth a note."""
        target_column = self.role == "logits" and self.targets is not None
        chosen = self.dropped or self.index is not None or target_column or self.ids is not None
        return bool(self.header is not None or chosen or self.note)

    def json(self) -> dict[str, Any]:
        """The record as the JSON ``read`` key lists it."""
        return {
            "role": self.role,
            "file": self.file,
            "form": self.form,
            "shape": list(self.shape),
            "header": None if self.header is None else list(self.header),
            "logits": None if self.logits is None else list(self.logits),
            "targets": None if self.targets is None else list(self.targets),
            "weight": None if self.weight is None else list(self.weight),
            "ids": self.ids,
            "dropped": list(self.dropped),
            "index": self.index,
        }


def record(source: SourceArray, role: str, *, target_at: int | None = None, note: str | None = None) -> ReadRecord:
    """The record of a source as read, its columns named by role (``target_at``: the target column's
    position among the columns read)."""
    plan = source.plan
    shape = tuple(int(n) for n in source.array.shape)
    if plan is None:
        return ReadRecord(role, source.label, source.file, source.form, shape, note=note)
    kept = [plan.name(i) for i in plan.kept_columns]
    columns: dict[str, tuple[str, ...] | None] = {"logits": None, "targets": None, "weight": None}
    if target_at is not None:
        columns["targets"] = (kept.pop(target_at),)
    if role == "logits" or plan.file_header is not None:  # a headerless targets table's columns say nothing
        columns["weight" if role == "pos_weight" else role] = tuple(kept)
    rule = None
    if plan.file_header is not None:
        rule = "pandas' column names 0..k" if plan.numeric_header else "names"
    return ReadRecord(
        role,
        source.label,
        source.file,
        source.form,
        shape,
        plan.file_header,
        rule,
        columns["logits"],
        columns["targets"],
        columns["weight"],
        None if plan.ids_at is None else plan.name(plan.ids_at),
        tuple(plan.name(i) for i in plan.dropped),
        plan.name(0) if plan.skipped_index else None,
        note,
    )


class NameColumn(Protocol):
    """One name per sample along the first axis: an array of text, or one read when first indexed."""

    def __len__(self) -> int: ...

    def __getitem__(self, row: int) -> Any: ...


class SampleNames:
    """Each sample's name along the first axis: an id read with it, or the shard file and row it came from."""

    def __init__(self, ids: NameColumn | None = None, shards: tuple[list[str], list[int]] | None = None) -> None:
        self._ids = ids
        self._files: list[str] = [] if shards is None else shards[0]
        self._starts = np.cumsum([0, *(shards[1] if shards is not None else [])])

    def __call__(self, row: int) -> str:
        """The name of sample ``row`` (0-based along the first axis)."""
        if self._ids is not None:
            return str(self._ids[row])
        shard = int(np.searchsorted(self._starts, row, side="right")) - 1
        return f"{self._files[shard]}:{row - int(self._starts[shard])}"

    def index_text(self, index: tuple[int, ...]) -> str:
        """A sample's index as tables and CSV show it, its first component named: ``a17`` or ``(a17, 3)``."""
        if not index:
            return "0"
        if len(index) == 1:
            return self(index[0])
        return "(" + ", ".join([self(index[0]), *(str(i) for i in index[1:])]) + ")"

    def json(self, rows: int) -> list[str]:
        """Every sample's name along the first axis, for the JSON ``ids`` key."""
        return [self(row) for row in range(rows)]
