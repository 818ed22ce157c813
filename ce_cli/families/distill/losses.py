"""The distillation loss of a block of rows, and its options. Pure numpy (plus the compiled KL).

Per sample (a row of the student's logits ``s`` and the teacher's ``t``, class axis last)::

    soft = T^2 D(p_teacher_T, p_student_T)            (ce_cli/families/distill/divergences.py)
    hard = cross_entropy(s, target) at T = 1           (PyTorch's, max-shifted)
    loss = alpha soft + (1 - alpha) hard, or soft alone without targets

A sample whose target is ``ignore_index`` counts for nothing (its loss is 0, as PyTorch's per-sample
cross-entropy), and the mean divides by the counted samples (every sample without targets).
"""

from __future__ import annotations

import math
from typing import Any, Literal, TypeAlias

import numpy as np

from ce_cli.array_types import BoolArray, Float64Array
from ce_cli.errors import OptionError, ShapeError, TargetError
from ce_cli.families.distill.defaults import (
    DEFAULT_ALPHA,
    DEFAULT_DIVERGENCE,
    DEFAULT_TEACHER_FORM,
    DEFAULT_TEMPERATURE,
)
from ce_cli.families.distill.divergences import (
    DIVERGENCES,
    TEACHER_FORMS,
    Divergence,
    TeacherForm,
    divergence_rows,
    softened_log_probs,
    sparse_log_probs,
    teacher_log_probs,
)
from ce_cli.records import frozen

Sparse: TypeAlias = Literal["renormalize", "rest"]
SPARSE_CONVENTIONS: tuple[Sparse, ...] = ("renormalize", "rest")


@frozen
class DistillOptions:
    """The distillation's options (see the module docstring); :meth:`checked` refuses what cannot be honoured."""

    temperature: float = DEFAULT_TEMPERATURE
    alpha: float = DEFAULT_ALPHA
    divergence: Divergence = DEFAULT_DIVERGENCE
    teacher_form: TeacherForm = DEFAULT_TEACHER_FORM
    ignore_index: int = -100
    sparse: Sparse | None = None

    def checked(self) -> DistillOptions:
        """These options, after refusing the ones that cannot be honoured.

        Raises:
            OptionError: a temperature that is not a positive number, or given with a teacher that is not
                logits; an alpha outside [0, 1]; an unknown divergence, teacher form or sparse convention.
        """
        if not (self.temperature > 0.0 and math.isfinite(self.temperature)):
            raise OptionError(f"the temperature must be a positive number, not {self.temperature}")
        if self.teacher_form != "logits" and self.temperature != 1.0:
            raise OptionError(
                f"the temperature softens logits; the teacher is given as {self.teacher_form.replace('_', '-')}, "
                "which it does not apply to (give the teacher's logits, or leave the temperature at 1)"
            )
        if self.sparse == "rest" and self.teacher_form == "logits":
            raise OptionError(
                "--sparse-teacher rest puts the mass the top k miss in a bucket of its own, which a teacher's top-k "
                "logits do not tell: give its probabilities or log-probabilities (--teacher-form), or use renormalize"
            )
        if not 0.0 <= self.alpha <= 1.0:
            raise OptionError(
                f"alpha weighs the soft loss against the hard one and must be in [0, 1], not {self.alpha}"
            )
        for name, value, choices in (
            ("divergence", self.divergence, DIVERGENCES),
            ("teacher form", self.teacher_form, TEACHER_FORMS),
            ("sparse teacher", self.sparse, (None, *SPARSE_CONVENTIONS)),
        ):
            if value not in choices:
                known = ", ".join(str(c) for c in choices if c is not None)
                raise OptionError(f"{name} {value!r} is not one of {known}")
        return self


@frozen
class BlockLosses:
    """One block's per-sample soft, hard (``None`` without targets) and total losses, and which count."""

    soft: Float64Array
    hard: Float64Array | None
    loss: Float64Array
    counted: BoolArray


def hard_losses(student: Float64Array, targets: np.ndarray, ignore_index: int) -> tuple[Float64Array, BoolArray]:
    """PyTorch's per-sample cross-entropy of ``(B, C)`` logits at index targets (0 where ignored).

    Raises:
        TargetError: a target outside ``[0, C)`` that is not the ignore index.
    """
    classes = student.shape[-1]
    counted = targets != ignore_index
    outside = counted & ((targets < 0) | (targets >= classes))
    if np.any(outside):
        first = int(np.flatnonzero(outside)[0])
        error = TargetError(
            f"target {int(targets[first])} at sample {first} is not a class index in [0, {classes}) "
            f"nor the ignore index {ignore_index}"
        )
        error.row = first
        raise error
    picked = np.where(counted, targets, 0).astype(np.intp)
    log_p = softened_log_probs(student, 1.0)
    losses: Float64Array = np.where(counted, -np.take_along_axis(log_p, picked[:, None], axis=1)[:, 0], 0.0)
    return losses, counted


def block_losses(
    student: Any,
    teacher: Any,
    targets: np.ndarray | None,
    options: DistillOptions,
    indices: np.ndarray | None = None,
    soft_divergence: Float64Array | None = None,
) -> BlockLosses:
    """The distillation losses of ``(B, C)`` student rows against the teacher's rows.

    ``teacher``: ``(B, C)``, or ``(B, k)`` with ``indices`` for a sparse top-k teacher.
    ``soft_divergence``: ``D`` per row where the compiled kernel has already computed it.
    """
    s = np.asarray(student, dtype=np.float64)
    t = np.asarray(teacher, dtype=np.float64)
    temperature = options.temperature
    if soft_divergence is not None:
        divergence = soft_divergence
    elif indices is not None:
        assert options.sparse is not None
        log_t, log_s = sparse_log_probs(s, t, indices, options.teacher_form, temperature, options.sparse)
        divergence = divergence_rows(log_t, log_s, options.divergence)
    else:
        log_t = teacher_log_probs(t, options.teacher_form, temperature)
        divergence = divergence_rows(log_t, softened_log_probs(s, temperature), options.divergence)
    soft: Float64Array = temperature * temperature * divergence
    if targets is None:
        return BlockLosses(soft, None, soft, np.ones(len(soft), dtype=bool))
    hard, counted = hard_losses(s, targets, options.ignore_index)
    with np.errstate(invalid="ignore", over="ignore"):
        loss: Float64Array = np.where(counted, options.alpha * soft + (1.0 - options.alpha) * hard, 0.0)
    return BlockLosses(soft, hard, loss, counted)


def rows_last(values: Any, class_axis: int, name: str) -> tuple[Float64Array, tuple[int, ...]]:
    """``(M, C)`` rows of ``values`` with the class axis last, and the sample shape (the rest, in order).

    Raises:
        ShapeError: a single number, or a class axis out of range.
    """
    array = np.asarray(values)
    if array.ndim == 0:
        raise ShapeError(f"{name} is a single number; it needs a class axis of length C")
    if not -array.ndim <= class_axis < array.ndim:
        raise OptionError(f"class axis {class_axis} is out of range for {name} of shape {array.shape}")
    moved = np.moveaxis(array, class_axis, -1)
    return moved.reshape(-1, moved.shape[-1]), tuple(int(n) for n in moved.shape[:-1])
