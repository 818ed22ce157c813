"""Turning option text into the values the layers take: inputs, --eps, --drop-columns, --sample."""

from __future__ import annotations

import re
import sys

import numpy as np
import typer

from ce_cli.binary_inputs import BinaryInputs
from ce_cli.cli.messages import notice_text
from ce_cli.cli.options import takes_probabilities
from ce_cli.cli.streams import stdin_bytes
from ce_cli.errors import OptionError
from ce_cli.io.inputs import InputSpec, load_binary_inputs, load_inputs
from ce_cli.validate import DEFAULT_CLASS_AXIS, DEFAULT_IGNORE_INDEX, DEFAULT_LABEL_SMOOTHING, ValidatedInputs


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
        typer.echo(f"ce-loss: reading {reading} from stdin (a terminal): type the rows, then Ctrl-D", err=True)


def load(spec: InputSpec, *, silenced: bool = False) -> ValidatedInputs:
    """Read and validate the inputs (``-`` reads this process's stdin); say on stderr what the reading assumed."""
    if (spec.targets is None) == (spec.target_column is None):
        raise OptionError("give the targets with exactly one of --targets SRC and --target-column NAME|INDEX")
    if spec.pos_weight is not None:
        raise OptionError("--pos-weight goes with --task binary (the weight of positives in binary cross-entropy)")
    if not 0.0 <= spec.label_smoothing <= 1.0:  # NaN included
        raise OptionError(f"--label-smoothing must be in [0, 1], not {spec.label_smoothing}")
    say_when_reading_a_terminal(spec)
    inputs, notices = load_inputs(spec, stdin_bytes())
    if not silenced:
        for notice in notices:
            typer.echo(f"ce-loss: warning: {notice_text(notice)}", err=True)
    return inputs


def load_binary(spec: InputSpec, *, silenced: bool = False) -> BinaryInputs:
    """Read and validate the inputs of ``--task binary``; refuse the options that task does not have."""
    if spec.targets is None and spec.target_column is None:
        raise OptionError("give the targets with exactly one of --targets SRC and --target-column NAME|INDEX")
    for flag, value, default in (
        ("--ignore-index", spec.ignore_index, DEFAULT_IGNORE_INDEX),
        ("--label-smoothing", spec.label_smoothing, DEFAULT_LABEL_SMOOTHING),
        ("--class-axis", spec.class_axis, DEFAULT_CLASS_AXIS),
    ):
        if value != default:
            raise OptionError(f"{flag} is not an option of --task binary, where every element is its own problem")
    say_when_reading_a_terminal(spec)
    inputs, notices = load_binary_inputs(spec, stdin_bytes())
    if not silenced:
        for notice in notices:
            typer.echo(f"ce-loss: warning: {notice_text(notice)}", err=True)
    return inputs


def column_names(text: str | None) -> tuple[str, ...]:
    """``--drop-columns id,notes`` as a tuple of names."""
    return () if text is None else tuple(name.strip() for name in text.split(",") if name.strip())


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
