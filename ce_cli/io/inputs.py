"""From the input options to validated arrays: the one loader every command uses.

:class:`InputSpec` holds the sources and PyTorch's options as given;
:func:`load_inputs` reads every source (:mod:`ce_cli.io.sources`) and
validates them together (:func:`ce_cli.validate.validate_inputs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any

from numpy.typing import NDArray

from ce_cli.binary_inputs import BinaryInputs, Task, validate_binary
from ce_cli.errors import OptionError, ShapeError
from ce_cli.io.numpy_files import NpyFile
from ce_cli.io.shards import Shards
from ce_cli.io.sources import load, split_column
from ce_cli.io.text_stream import TextRows
from ce_cli.validate import (
    DEFAULT_CLASS_AXIS,
    DEFAULT_IGNORE_INDEX,
    DEFAULT_LABEL_SMOOTHING,
    ValidatedInputs,
    validate_inputs,
)


@dataclass(frozen=True, kw_only=True)
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
        ignore_index, label_smoothing, class_axis: as in
            :func:`ce_cli.validate.validate_inputs`.
        task: ``"multiclass"`` (softmax over classes) or ``"binary"`` (every element its own problem).
    """

    logits: str
    targets: str | None = None
    target_column: str | None = None
    weight: str | None = None
    pos_weight: str | None = None
    drop_columns: tuple[str, ...] = ()
    ignore_index: int = DEFAULT_IGNORE_INDEX
    label_smoothing: float = DEFAULT_LABEL_SMOOTHING
    class_axis: int = DEFAULT_CLASS_AXIS
    task: Task = "multiclass"


@dataclass(frozen=True)
class IndexColumnSkipped:
    """The first column of ``label`` had an empty header cell, as pandas writes its row index, and was left out."""

    label: str


@dataclass(frozen=True)
class HeaderWithNumbers:
    """The first row of ``label`` was read as a header though it mixes numbers with ``cell``, which is not one."""

    label: str
    cell: str


InputNotice = IndexColumnSkipped | HeaderWithNumbers


@dataclass(frozen=True)
class SourcesRead:
    """The arrays every source gave, before validation, with how messages name them.

    Attributes:
        logits, targets, weight, pos_weight: as read (``None`` where not given).
        names: how messages name the logits, targets, weight and positive weight.
        notices: what the reading assumed, for the user.
    """

    logits: NDArray[Any] | NpyFile | TextRows | Shards
    targets: NDArray[Any] | NpyFile | TextRows | Shards
    weight: NDArray[Any] | NpyFile | TextRows | Shards | None
    pos_weight: NDArray[Any] | NpyFile | TextRows | Shards | None
    names: tuple[str, str, str, str]
    notices: tuple[InputNotice, ...]


def read_sources(spec: InputSpec, stdin: IO[bytes] | None) -> SourcesRead:
    """Read every source of ``spec``.

    Raises:
        OptionError: both or neither of ``targets`` and ``target_column``, or
            more than one source reading stdin.
        InputError: as reading finds it.
    """
    if (spec.targets is None) == (spec.target_column is None):
        raise OptionError("give the targets as a source or as a column of the logits table: exactly one of the two")
    sources = [s for s in (spec.logits, spec.targets, spec.weight, spec.pos_weight) if s is not None]
    if sources.count("-") > 1:
        raise OptionError("only one source can read stdin ('-')")
    logits = load(spec.logits, "logits", stdin, drop=spec.drop_columns)
    read = [logits]
    logit_values: NDArray[Any] | NpyFile | TextRows | Shards
    target_values: NDArray[Any] | NpyFile | TextRows | Shards
    if spec.target_column is not None:
        logit_values, target_values = split_column(logits, spec.target_column)
        if spec.task == "binary" and logit_values.ndim == 2 and logit_values.shape[1] == 1:
            logit_values = logit_values.reshape(-1)  # one score column: a binary classifier's logits
        targets_label = f"target column {spec.target_column!r} of {logits.label}"
    else:
        assert spec.targets is not None  # checked above
        targets = load(spec.targets, "targets", stdin)
        logit_values, target_values = logits.array, targets.array
        if isinstance(logit_values, Shards) and isinstance(target_values, Shards):
            _check_pairs(logit_values, target_values, logits.label, targets.label)
        targets_label = targets.label
        read.append(targets)
    weight = None if spec.weight is None else load(spec.weight, "weight", stdin)
    pos_weight = None if spec.pos_weight is None else load(spec.pos_weight, "pos_weight", stdin)
    read += [source for source in (weight, pos_weight) if source is not None]
    notices: list[InputNotice] = [IndexColumnSkipped(source.label) for source in read if source.skipped_index]
    notices += [HeaderWithNumbers(s.label, s.suspicious_header) for s in read if s.suspicious_header is not None]
    names = (
        logits.label,
        targets_label,
        "weight" if weight is None else weight.label,
        "pos_weight" if pos_weight is None else pos_weight.label,
    )
    return SourcesRead(
        logit_values,
        target_values,
        None if weight is None else weight.array,
        None if pos_weight is None else pos_weight.array,
        names,
        tuple(notices),
    )


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


def load_inputs(spec: InputSpec, stdin: IO[bytes] | None) -> tuple[ValidatedInputs, tuple[InputNotice, ...]]:
    """Read every source of ``spec`` and validate them together (the softmax family); also what the user
    should know about the reading.

    Raises:
        OptionError, InputError, ShapeError, TargetError: as reading and validating find them.
    """
    read = read_sources(spec, stdin)
    inputs = validate_inputs(
        read.logits,
        read.targets,
        weight=read.weight,
        ignore_index=spec.ignore_index,
        label_smoothing=spec.label_smoothing,
        class_axis=spec.class_axis,
        names=read.names[:3],
    )
    return inputs, read.notices


def load_binary_inputs(spec: InputSpec, stdin: IO[bytes] | None) -> tuple[BinaryInputs, tuple[InputNotice, ...]]:
    """Read every source of ``spec`` and validate them for the binary family (every element its own problem).

    Raises:
        OptionError, InputError, ShapeError, TargetError: as reading and validating find them.
    """
    read = read_sources(spec, stdin)
    inputs = validate_binary(
        read.logits, read.targets, weight=read.weight, pos_weight=read.pos_weight, names=read.names
    )
    return inputs, read.notices
