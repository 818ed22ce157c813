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
    """Targets that are not valid class indices or probabilities."""


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


def unknown_choice(kind: str, name: str, choices: Iterable[str]) -> OptionError:
    """The error for a ``name`` that is none of ``choices`` (``kind``: "formula", "format", ...)."""
    return OptionError(f"unknown {kind} {name!r}; choose one of {', '.join(choices)}")


def choose(choices: Mapping[str, T], name: str, kind: str) -> T:
    """``choices[name]``, or the :func:`unknown_choice` error: never a silent default."""
    try:
        return choices[name]
    except KeyError:
        raise unknown_choice(kind, name, choices) from None
