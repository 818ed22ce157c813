"""The project's one error hierarchy.

Every problem with a user's input is raised as a :class:`CeLossError`
subclass. Each class knows the exit status the command line gives it:
``1`` for bad data (files, values, shapes, targets) and ``2`` for usage
(options that cannot be honoured). Any other exception is a bug and is
never reported as a user error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

T = TypeVar("T")


class CeLossError(Exception):
    """Base class of every error ce-loss reports to its user."""

    exit_code: int = 1


class InputError(CeLossError):
    """A source could not be read, or holds values of the wrong kind."""


class CellError(InputError):
    """A cell of a text table that is not a number; ``column`` is its header name, if the table has one,
    and ``others`` how many other columns were read as numbers beside it."""

    def __init__(self, message: str, column: str | None = None, others: int = 0) -> None:
        super().__init__(message)
        self.column = column
        self.others = others


class ShapeError(CeLossError):
    """Arrays whose shapes do not fit together (logits, targets, weight)."""


class ClassAxisError(ShapeError):
    """Targets that fit the logits with another class axis: ``fits`` is that axis (as the user would give it)."""

    def __init__(self, message: str, fits: int) -> None:
        super().__init__(message)
        self.fits = fits


class TargetError(CeLossError):
    """Targets that are not valid class indices or probabilities.

    Attributes:
        row: the flat position of the target the message names, where there is one (the command line
            adds the line of the file it was read from).
    """

    row: int | None = None


class OneClassTargetError(TargetError):
    """Targets beyond class 0 for logits of one class: one logit per sample, as a binary classifier gives."""


class IntegerProbabilityTargetError(TargetError):
    """Integer targets of the logits' own shape: PyTorch takes that shape as class probabilities, which it
    requires in floating point, and refuses integers (multi-hot labels are the usual cause)."""


class OutputError(CeLossError):
    """A result file could not be written (missing or read-only folder, full disk)."""


class OptionError(CeLossError):
    """An option value that cannot be honoured (a usage error, exit status 2)."""

    exit_code = 2


class StrayColumnError(InputError):
    """A column read as a logit that is not one (an id, a fold, the labels): ``column`` names it, ``reason``
    says why, ``label_like`` whether it looks like the targets."""

    def __init__(self, label: str, column: str, reason: str, label_like: bool) -> None:
        super().__init__(f"{label}: column {column!r} would be read as a logit, but {reason}")
        self.label, self.column, self.reason, self.label_like = label, column, reason, label_like


class CompressedInputError(InputError):
    """A compressed input: ``command`` decompresses ``path`` into a pipe."""

    def __init__(self, label: str, suffix: str, path: str, command: str) -> None:
        super().__init__(f"{label} is compressed ({suffix}), which ce-loss does not read; decompress it first")
        self.label, self.suffix, self.path, self.command = label, suffix, path, command


class ColumnChoiceError(OptionError):
    """Columns named for a role they cannot take: ``option`` is ``"logits"`` or ``"ids"``. ``source`` names
    a source that is no text table (a ``.npy``, say), or is empty where the logit columns were named out of
    the file's order, twice, or beside the target or id column."""

    def __init__(self, option: str, source: str = "") -> None:
        if source:
            message = f"the {option} columns name columns of a text table; {source} is not one"
        else:
            message = "the logit columns are named once each, in the file's order, apart from the target and ids"
        super().__init__(message)
        self.option, self.source = option, source


class SummaryRequestError(OptionError):
    """A summary the inputs cannot give: ``option`` ``"top_k"`` (``k`` outside ``1..classes``) or
    ``"per_sequence"`` (samples of ``shape`` have no sequence axis)."""

    def __init__(self, option: str, *, k: int = 0, classes: int = 0, shape: tuple[int, ...] = ()) -> None:
        if option == "top_k":
            message = f"top-k {k} is out of range: there are {classes} classes, so K runs from 1 to {classes}"
        else:
            message = f"a per-sequence summary needs targets of shape (B, T), and these have shape {shape}"
        super().__init__(message)
        self.option, self.k, self.classes, self.shape = option, k, classes, shape


def unknown_choice(kind: str, name: str, choices: Iterable[str]) -> OptionError:
    """The error for a ``name`` that is none of ``choices`` (``kind``: "formula", "format", ...)."""
    return OptionError(f"unknown {kind} {name!r}; choose one of {', '.join(choices)}")


def choose(choices: Mapping[str, T], name: str, kind: str) -> T:
    """``choices[name]``, or the :func:`unknown_choice` error: never a silent default."""
    try:
        return choices[name]
    except KeyError:
        raise unknown_choice(kind, name, choices) from None
