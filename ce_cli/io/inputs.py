"""From the input options to the arrays every source gave: the one reader every command uses.

:class:`InputSpec` holds the sources and PyTorch's options as given;
:func:`read_sources` reads every source (:mod:`ce_cli.io.sources`) and checks
that what was read fits what it is taken for; the family of ``--task``
validates the arrays (:meth:`ce_cli.families.protocol.Family.validate`).
"""

from __future__ import annotations

import os
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

from ce_cli.errors import CellError, InputError, OptionError, ShapeError, TargetError
from ce_cli.families.distill.defaults import (
    DEFAULT_ALPHA,
    DEFAULT_DIVERGENCE,
    DEFAULT_TEACHER_FORM,
    DEFAULT_TEMPERATURE,
)
from ce_cli.families.softmax.inputs import DEFAULT_CLASS_AXIS, DEFAULT_IGNORE_INDEX, DEFAULT_LABEL_SMOOTHING
from ce_cli.io.columns import ColumnChoice, HeaderMode, target_position
from ce_cli.io.fit_checks import pair_numbered_rows, refuse_stray_column, whole_numbers
from ce_cli.io.numpy_files import NpyFile, NpzMember
from ce_cli.io.provenance import ReadRecord, SampleNames, record
from ce_cli.io.shards import Shards
from ce_cli.io.sources import SourceArray, load
from ce_cli.io.tensor_files import ParquetRows
from ce_cli.io.text_stream import TextRows
from ce_cli.records import frozen


@frozen(kw_only=True)
class InputSpec:
    """Where the arrays come from and PyTorch's options, as the user gave them.

    Attributes:
        logits: a SRC (path, ``file.npz:key``, ``-`` for stdin, or inline numbers).
        targets: a SRC for the targets, or ``None`` when ``target_column`` names them.
        target_column: a header name or 0-based index of a column of the logits
            table that holds the targets, or ``None``.
        weight: a SRC for the class weights (multiclass) or the element weights (binary), or ``None``.
        pos_weight: a SRC for the weight of positives (binary only), or ``None``.
        drop_columns: columns of the logits table to leave out (header names or 0-based indices).
        logit_columns: the logit columns of the logits table, chosen explicitly, or ``None`` for
            every column not otherwise taken.
        id_column: a column of the logits table holding sample ids (any text), or ``None``.
        header: whether text tables have a header row: ``"auto"`` (the rules of
            :func:`~ce_cli.io.table_plan.plan_table`), ``"yes"`` or ``"no"``.
        ignore_index, label_smoothing, class_axis: as in
            :func:`ce_cli.families.softmax.inputs.validate_inputs`.
        task: the loss family (:data:`ce_cli.families.REGISTRY`): ``"multiclass"`` (softmax over classes),
            ``"binary"`` (every element its own problem), ``"distill"`` (a student against a teacher), or
            another registered one.
        teacher, teacher_indices: SRCs of the teacher's values (its logits, probabilities or
            log-probabilities, of the logits' shape, or its top k) and of the class index of each of its top
            k, for ``--task distill``; ``None`` where not given.
        temperature, alpha, divergence, teacher_form, sparse_teacher: the distillation's options
            (:class:`ce_cli.families.distill.losses.DistillOptions`).
    """

    logits: str
    targets: str | None = None
    target_column: str | None = None
    weight: str | None = None
    pos_weight: str | None = None
    drop_columns: tuple[str, ...] = ()
    logit_columns: tuple[str, ...] | None = None
    id_column: str | None = None
    header: HeaderMode = "auto"
    ignore_index: int = DEFAULT_IGNORE_INDEX
    label_smoothing: float = DEFAULT_LABEL_SMOOTHING
    class_axis: int = DEFAULT_CLASS_AXIS
    task: str = "multiclass"
    teacher: str | None = None
    teacher_indices: str | None = None
    temperature: float = DEFAULT_TEMPERATURE
    alpha: float = DEFAULT_ALPHA
    divergence: str = DEFAULT_DIVERGENCE
    teacher_form: str = DEFAULT_TEACHER_FORM
    sparse_teacher: str | None = None

    @property
    def choice(self) -> ColumnChoice:
        """The columns of the logits table the user named."""
        return ColumnChoice(self.drop_columns, self.logit_columns, self.target_column, self.id_column)


@frozen
class HeaderWithNumbers:
    """The first row of ``label`` was read as a header though it mixes numbers with ``cell``, which is not one."""

    label: str
    cell: str


InputNotice = HeaderWithNumbers  # the row index pandas writes is said in the source's read line
Array = NDArray[Any] | NpyFile | NpzMember | TextRows | Shards | ParquetRows


@frozen
class SourcesRead:
    """The arrays every source gave, before validation, with how messages name them.

    Attributes:
        logits, targets, weight, pos_weight: as read (``None`` where not given).
        names: how messages name the logits, targets, weight and positive weight.
        notices: what the reading assumed, for the user.
        records: what was taken from each source, in the order logits, targets, weight, pos_weight.
        sample_names: each sample's id or shard row, or ``None`` where the index says it all.
        target_table: the text file the targets were read from and the lines before its first data row,
            where they were (a target's line can then be named), else ``None``.
        teacher, teacher_indices: as read, for ``--task distill`` (``None`` where not given).
    """

    logits: Array
    targets: Array | None
    weight: Array | None
    pos_weight: Array | None
    names: tuple[str, str, str, str]
    notices: tuple[InputNotice, ...]
    records: tuple[ReadRecord, ...] = ()
    sample_names: SampleNames | None = None
    target_table: tuple[str, int] | None = None
    teacher: Array | None = None
    teacher_indices: Array | None = None


def read_sources(
    spec: InputSpec, stdin: IO[bytes] | None, *, elementwise: bool = False, targets_optional: bool = False
) -> SourcesRead:
    """Read every source of ``spec``, and check that what was read fits what it is taken for.

    ``elementwise``: for a family whose every element is its own problem (no class axis), a table of one
    score column is a vector, and targets written as integers are 0/1 labels, not an integer dtype.
    ``targets_optional``: for a family that scores without targets (``targets`` is then ``None``).

    Raises:
        OptionError: both or neither of ``targets`` and ``target_column``, or
            more than one source reading stdin.
        InputError: as reading finds it; a logit column that is not a logit (an id, a fold, the
            labels: :func:`~ce_cli.io.columns.stray_logit_column`).
    """
    if spec.targets is not None and spec.target_column is not None:
        raise OptionError("give the targets as a source or as a column of the logits table: exactly one of the two")
    if spec.targets is None and spec.target_column is None and not targets_optional:
        raise OptionError("give the targets as a source or as a column of the logits table: exactly one of the two")
    sources = [
        s
        for s in (spec.logits, spec.targets, spec.weight, spec.pos_weight, spec.teacher, spec.teacher_indices)
        if s is not None
    ]
    if sources.count("-") > 1:
        raise OptionError("only one source can read stdin ('-')")
    logits = _load_table(spec, stdin)
    read = [logits]
    logit_values: Array
    target_values: Array | None
    target_at = None
    if spec.target_column is not None:
        target_at = None if logits.plan is None else logits.plan.target_at
        logit_values, target_values = split_column(logits, spec.target_column, target_at)
        if elementwise and logit_values.ndim == 2 and logit_values.shape[1] == 1:
            # one score column: a binary classifier's logits
            logit_values = (
                logit_values.column(0) if isinstance(logit_values, TextRows) else np.asarray(logit_values).reshape(-1)
            )
        targets_label = f"target column {spec.target_column!r} of {logits.label}"
        records = [record(logits, "logits", target_at=target_at)]
    elif spec.targets is None:  # a family that scores without targets
        logit_values, target_values, targets_label = logits.array, None, "targets"
        records = [record(logits, "logits")]
    else:
        targets = _load_targets(spec, stdin)
        logits, targets, notes = pair_numbered_rows(logits, targets, spec.header)
        logit_values, target_values = logits.array, targets.array
        if isinstance(logit_values, Shards) and isinstance(target_values, Shards):
            _check_pairs(logit_values, target_values, logits.label, targets.label)
        targets_label = targets.label
        read.append(targets)
        if not elementwise and targets.plan is not None and targets.plan.integer_text:
            target_values = whole_numbers(target_values)  # written as integers: an integer dtype, as PyTorch sees it
        records = [record(logits, "logits", note=notes[0]), record(targets, "targets", note=notes[1])]
    if spec.logit_columns is None and logits.plan is not None:
        refuse_stray_column(logits, logit_values, target_at)
    weight = None if spec.weight is None else load(spec.weight, "weight", stdin, header_mode=spec.header)
    pos_weight = (
        None if spec.pos_weight is None else load(spec.pos_weight, "pos_weight", stdin, header_mode=spec.header)
    )
    teacher = None if spec.teacher is None else load(spec.teacher, "teacher", stdin, header_mode=spec.header)
    indices = (
        None
        if spec.teacher_indices is None
        else load(spec.teacher_indices, "teacher_indices", stdin, header_mode=spec.header)
    )
    extra = ((weight, "weight"), (pos_weight, "pos_weight"), (teacher, "teacher"), (indices, "teacher_indices"))
    read += [source for source, _ in extra if source is not None]
    records += [record(s, role) for s, role in extra if s is not None]
    notices: list[InputNotice] = [
        HeaderWithNumbers(s.label, s.suspicious_header) for s in read if s.suspicious_header is not None
    ]
    names = (
        logits.label,
        targets_label,
        "weight" if weight is None else weight.label,
        "pos_weight" if pos_weight is None else pos_weight.label,
    )
    targets_from = logits if spec.target_column is not None else read[1] if spec.targets is not None else None
    return SourcesRead(
        logit_values,
        target_values,
        None if weight is None else weight.array,
        None if pos_weight is None else pos_weight.array,
        names,
        tuple(notices),
        tuple(records),
        sample_names(logits),
        None if targets_from is None else _text_file(targets_from),
        None if teacher is None else teacher.array,
        None if indices is None else indices.array,
    )


def _text_file(source: SourceArray) -> tuple[str, int] | None:
    """``(path, lines before the first data row)`` of a text table read from one file on disk, else ``None``."""
    plan, file = source.plan, source.file
    if plan is None or file is None or file == "-" or not os.path.isfile(file):
        return None
    return file, plan.skip


def _load_table(spec: InputSpec, stdin: IO[bytes] | None) -> SourceArray:
    """The logits source, with the columns the user chose. A column of text gets advice that never
    leaves out a column the run needs: the target column, or the only logit column.

    Raises:
        TargetError: the target column holds text. CellError: another column does.
    """
    try:
        return load(spec.logits, "logits", stdin, choice=spec.choice, header_mode=spec.header)
    except CellError as error:
        if error.column is None:
            raise
        if error.column == spec.target_column:
            raise TargetError(f"{error}: {_TEXT_LABELS}") from None
        if error.others - (spec.target_column is not None) < 1:  # the only logit column
            raise CellError(str(error)) from None
        raise


def _load_targets(spec: InputSpec, stdin: IO[bytes] | None) -> SourceArray:
    """The targets source; text labels get the advice to map them to class indices."""
    assert spec.targets is not None
    try:
        return load(spec.targets, "targets", stdin, header_mode=spec.header)
    except CellError as error:
        raise TargetError(f"{error}: {_TEXT_LABELS}") from None


_TEXT_LABELS = (
    "the targets are text labels, and ce-loss takes class indices 0..C-1 in the logit columns' order; "
    "map the labels to indices first (pandas: df[col].astype('category').cat.codes)"
)


def sample_names(logits: SourceArray) -> SampleNames | None:
    """The samples' names: the id column's, or each shard's file and row; ``None`` where the index is the name."""
    if logits.ids is not None:
        return SampleNames(ids=logits.ids)
    array = logits.array
    if isinstance(array, Shards):
        return SampleNames(shards=(array.files, array.counts))
    return None


def _check_pairs(logits: Shards, targets: Shards, logits_label: str, targets_label: str) -> None:
    """Sharded logits and targets: as many files of each, paired in name order, each pair of one length.

    Raises:
        ShapeError: different numbers of files, or a pair whose sample counts differ.
    """
    if len(logits.files) != len(targets.files):
        raise ShapeError(
            f"{logits_label} are {len(logits.files)} files but {targets_label} are {len(targets.files)}: "
            "shards are paired in name order, so there must be as many of each"
        )
    for logits_file, targets_file, rows, count in zip(
        logits.labels, targets.labels, logits.counts, targets.counts, strict=True
    ):
        if rows != count:
            raise ShapeError(f"{logits_file} holds {rows} samples but {targets_file}, its pair, holds {count}")


def split_column(loaded: SourceArray, column: str, position: int | None = None) -> tuple[Array, NDArray[Any]]:
    """Take the targets from one column of a 2-D table.

    Args:
        loaded: a 2-D table, e.g. a CSV of logits with a label column.
        column: a header name, or a 0-based index (negative counts from the end).
        position: the column's position among the columns read, where the table's plan found it.

    Returns:
        ``(logits (N, C), targets (N,))``: the other columns and that column.

    Raises:
        OptionError: no such column. InputError: the source is not 2-D.
    """
    if isinstance(loaded.array, TextRows):  # a large table: both parts stay streamed, parsed a chunk at a time
        rows = loaded.array
        if position is None:
            position = target_position(column, loaded.columns, list(range(rows.shape[1])), loaded.label)
        return rows.without(position), rows.column(position)
    array = np.asarray(loaded.array)
    if array.ndim == 1 and (loaded.parsed_as_text or loaded.columns is not None):
        array = array.reshape(1, -1)  # a table of one data row was read as a vector
    if array.ndim != 2:
        raise InputError(f"{loaded.label} must be a table of rows and columns to take a target column from it")
    if position is None:
        position = target_position(column, loaded.columns, list(range(array.shape[1])), loaded.label)
    return np.delete(array, position, axis=1), array[:, position]
