"""Turning option text into the values the layers take: inputs, --eps, --drop-columns, --sample."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ce_cli.cli.messages import read_line, say
from ce_cli.cli.options import takes_probabilities
from ce_cli.cli.streams import stdin_bytes
from ce_cli.errors import OptionError, TargetError
from ce_cli.families import Family
from ce_cli.families.distill.defaults import (
    DEFAULT_ALPHA,
    DEFAULT_DIVERGENCE,
    DEFAULT_TEACHER_FORM,
    DEFAULT_TEMPERATURE,
)
from ce_cli.families.protocol import OPTIONS
from ce_cli.families.softmax.inputs import DEFAULT_CLASS_AXIS, DEFAULT_IGNORE_INDEX, DEFAULT_LABEL_SMOOTHING
from ce_cli.io.columns import HeaderMode, line_of_row
from ce_cli.io.inputs import InputSpec, SourcesRead, read_sources

if TYPE_CHECKING:
    from ce_cli.families.softmax.report import SummaryRequest


def eps_value(text: str | None, formula: str | None) -> float | str | None:
    """``--eps`` as the domain takes it: a number, ``"auto"`` or ``None``; refused for a formula that takes logits."""
    if text is None:
        return None
    if formula is not None and formula not in takes_probabilities():
        takes = " or ".join(f"--formula {name}" for name in takes_probabilities())
        raise OptionError(f"--eps clips probabilities, so it goes with {takes}; {formula} takes logits")
    if text.strip().lower() == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        raise OptionError(f"--eps takes a number in [0, 0.5) or auto, not {text!r}") from None
    if not 0.0 <= value < 0.5:
        raise OptionError(f"--eps takes a number in [0, 0.5) or auto, not {text!r}")
    return value


def say_when_reading_a_terminal(spec: InputSpec) -> None:
    """A source ``-`` with a terminal on stdin waits for typed input: say so on stderr, in one line."""
    roles = {"logits": spec.logits, "targets": spec.targets, "weight": spec.weight, "pos_weight": spec.pos_weight}
    reading = next((role for role, src in roles.items() if src == "-"), None)
    stream = sys.stdin
    if reading is not None and stream is not None and stream.isatty():
        say(f"reading {reading} from stdin (a terminal): type the rows, then Ctrl-D")


def say_what_was_read(read: SourcesRead, silenced: bool, quiet: bool = False) -> None:
    """One line on stderr per source where what was taken from it could matter (see :func:`read_line`;
    ``quiet``: without the notes about nothing wrong)."""
    if not silenced:
        for line in (read_line(r, quiet=quiet) for r in read.records if r.informative):
            say(line)


FLAGS = {name: "--" + name.replace("_", "-") for name in OPTIONS}  # each option a family may refuse, as typed
# Why a family does not take an option, where a sentence says more than "is not an option of --task T".
WHY_NOT = {
    (
        "multiclass",
        "pos_weight",
    ): "--pos-weight goes with --task binary (the weight of positives in binary cross-entropy)",
    ("binary", "top_k"): "--top-k ranks classes of one softmax; --task binary has no classes to rank (use --by-class)",
    ("binary", "worst"): "--worst is for --task multiclass; with --task binary, use --by-class for each label",
    (
        "binary",
        "per_sequence",
    ): "--per-sequence is for --task multiclass; with --task binary, use --by-class for each label",
    (
        "binary",
        "ignore_index",
    ): "--ignore-index is not an option of --task binary, where every element is its own problem",
    ("binary", "label_smoothing"): (
        "--label-smoothing is not an option of --task binary, where every element is its own problem"
    ),
    ("binary", "class_axis"): "--class-axis is not an option of --task binary, where every element is its own problem",
    **{
        (task, option): f"{FLAGS[option]} goes with --task distill (a student scored against a teacher)"
        for task in ("multiclass", "binary")
        for option in (
            "teacher",
            "teacher_indices",
            "temperature",
            "alpha",
            "divergence",
            "teacher_form",
            "sparse_teacher",
        )
    },
}


def refuse_options(family: Family, given: dict[str, bool]) -> None:
    """Refuse, in the order given, the first option given that ``family`` does not take (it declares what it takes).

    Raises:
        OptionError: naming the flag, and why where a sentence says more.
    """
    for option, present in given.items():
        if present and option not in family.takes:
            why = WHY_NOT.get((family.name, option))
            raise OptionError(why or f"{FLAGS[option]} is not an option of --task {family.name}")


def summary_given(request: SummaryRequest) -> dict[str, bool]:
    """Which summary options a request holds, in the order they are refused."""
    return {
        "top_k": bool(request.top_k),
        "worst": bool(request.worst),
        "per_sequence": request.per_sequence,
        "by_class": request.by_class,
    }


def load(spec: InputSpec, family: Family, *, silenced: bool = False, quiet: bool = False) -> tuple[Any, SourcesRead]:
    """Read the inputs (``-`` reads this process's stdin) and validate them as ``family`` does, after refusing
    the options it does not take; say on stderr what was read."""
    if spec.targets is not None and spec.target_column is not None:
        raise OptionError("give the targets with exactly one of --targets SRC and --target-column NAME|INDEX")
    if spec.targets is None and spec.target_column is None and not family.targets_optional:
        raise OptionError("give the targets with exactly one of --targets SRC and --target-column NAME|INDEX")
    refuse_options(
        family,
        {
            "ignore_index": spec.ignore_index != DEFAULT_IGNORE_INDEX,
            "label_smoothing": spec.label_smoothing != DEFAULT_LABEL_SMOOTHING,
            "class_axis": spec.class_axis != DEFAULT_CLASS_AXIS,
            "pos_weight": spec.pos_weight is not None,
            "weight": spec.weight is not None,
            "teacher": spec.teacher is not None,
            "teacher_indices": spec.teacher_indices is not None,
            "temperature": spec.temperature != DEFAULT_TEMPERATURE,
            "alpha": spec.alpha != DEFAULT_ALPHA,
            "divergence": spec.divergence != DEFAULT_DIVERGENCE,
            "teacher_form": spec.teacher_form != DEFAULT_TEACHER_FORM,
            "sparse_teacher": spec.sparse_teacher is not None,
        },
    )
    if "label_smoothing" in family.takes and not 0.0 <= spec.label_smoothing <= 1.0:  # NaN included
        raise OptionError(f"--label-smoothing must be in [0, 1], not {spec.label_smoothing}")
    say_when_reading_a_terminal(spec)
    read = read_sources(spec, stdin_bytes(), elementwise=family.elementwise, targets_optional=family.targets_optional)
    try:
        inputs = family.validate(read, spec)
    except TargetError as error:
        raise with_line(error, read) from None
    say_what_was_read(read, silenced, quiet)
    return inputs, read


def with_line(error: TargetError, read: SourcesRead) -> TargetError:
    """``error`` with the line of the text file its target was read from, where both are known."""
    if error.row is None or read.target_table is None:
        return error
    path, skip = read.target_table
    shape = tuple(int(n) for n in getattr(read.targets, "shape", ()))
    per_line = int(np.prod(shape[1:])) if len(shape) > 1 else 1  # a table of targets: one row of them per line
    line = line_of_row(path, skip, error.row // per_line)
    if line is None:
        return error
    named = type(error)(f"{error}; it is on line {line} of '{path}'")
    named.row = error.row
    return named


def column_names(text: str | None) -> tuple[str, ...]:
    """``--drop-columns id,notes`` as a tuple of names."""
    return () if text is None else tuple(name.strip() for name in text.split(",") if name.strip())


def header_mode(header: bool | None) -> HeaderMode:
    """``--header`` / ``--no-header`` / neither as the reading's header rule."""
    return "auto" if header is None else "yes" if header else "no"


def input_spec(given: Mapping[str, Any]) -> InputSpec:
    """The inputs as a command's options give them (its parameters by name), their text turned into values:
    the one place the input options become an :class:`InputSpec`."""
    return InputSpec(
        logits=given["logits"],
        targets=given["targets"],
        target_column=given["target_column"],
        drop_columns=column_names(given["drop_columns"]),
        logit_columns=None if given["logit_columns"] is None else column_names(given["logit_columns"]),
        id_column=given["id_column"],
        header=header_mode(given["header"]),
        weight=given["weight"],
        pos_weight=given["pos_weight"],
        ignore_index=given["ignore_index"],
        label_smoothing=given["label_smoothing"],
        class_axis=given["class_axis"],
        task=given["task"],
        teacher=given.get("teacher"),
        teacher_indices=given.get("teacher_indices"),
        temperature=given.get("temperature", DEFAULT_TEMPERATURE),
        alpha=given.get("alpha", DEFAULT_ALPHA),
        divergence=given.get("divergence", DEFAULT_DIVERGENCE),
        teacher_form=given.get("teacher_form", DEFAULT_TEACHER_FORM),
        sparse_teacher=given.get("sparse_teacher"),
    )


def sample_position(text: str, sample_shape: tuple[int, ...]) -> int:
    """The flat position ``--sample`` names: a flat index ``"7"`` or a tuple ``"2,3"``/``"(2, 3)"``."""
    count = int(np.prod(sample_shape))
    parts = [p for p in re.split(r"[,\s]+", text.strip().strip("()[]")) if p]
    if not parts or not all(re.fullmatch(r"-?\d{1,18}", p) for p in parts):
        raise OptionError(f"--sample {text!r} is not an index (give a number, or a tuple such as 2,3)")
    numbers = [int(p) for p in parts]
    if len(numbers) == 1:
        (flat,) = numbers
        if not -count <= flat < count:
            raise OptionError(f"--sample {flat} is out of range: there are {count} samples (0..{count - 1})")
        return flat % count
    if len(numbers) != len(sample_shape) or not all(-n <= i < n for i, n in zip(numbers, sample_shape, strict=True)):
        raise OptionError(f"--sample {text!r} does not fit the samples' shape {sample_shape}")
    return int(np.ravel_multi_index(tuple(i % n for i, n in zip(numbers, sample_shape, strict=True)), sample_shape))
