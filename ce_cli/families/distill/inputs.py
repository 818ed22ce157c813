"""The distillation family's inputs: a student's logits and a teacher's values, laid out as rows. Pure numpy."""

from __future__ import annotations

from typing import Any

import numpy as np

from ce_cli.errors import ShapeError, TargetError
from ce_cli.families.distill.losses import DistillOptions, rows_last
from ce_cli.families.softmax.inputs import ValidatedInputs, validate_inputs
from ce_cli.layout import Rows
from ce_cli.records import frozen


@frozen
class DistillInputs:
    """Validated distillation inputs.

    Attributes:
        student: the student's logits as rows ``(M, C)`` (class axis last), with its targets where given
            (where not, every sample counts and ``has_targets`` is false).
        teacher: the teacher's rows ``(M, C)``, or ``(M, k)`` for a top-k teacher.
        indices: ``(M, k)`` class indices of a top-k teacher's values, or ``None``.
        has_targets: whether targets were given (the hard loss needs them).
        options: the distillation's options.
        names: how messages name the student (the logits), the targets and the teacher.
    """

    student: ValidatedInputs
    teacher: Rows
    indices: np.ndarray | None
    has_targets: bool
    options: DistillOptions
    names: tuple[str, str, str] = ("logits", "targets", "teacher")

    @property
    def num_samples(self) -> int:
        return self.student.num_samples

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return self.student.sample_shape

    @property
    def counted(self) -> np.ndarray:
        """``(M,)`` the samples that count: targets not the ignore index, or every sample without targets."""
        if not self.has_targets:
            return np.ones(self.num_samples, dtype=bool)
        return self.student.counted


def _sample_shape(shape: tuple[int, ...], class_axis: int) -> tuple[int, ...]:
    if len(shape) <= 1:
        return ()
    axis = class_axis % len(shape)
    return tuple(n for k, n in enumerate(shape) if k != axis)


def validate_distill(
    student: Any,
    targets: Any,
    teacher: Any,
    options: DistillOptions,
    *,
    indices: Any = None,
    class_axis: int = 1,
    names: tuple[str, str, str] = ("logits", "targets", "teacher"),
) -> DistillInputs:
    """Check a student's logits, optional targets and a teacher's values, and lay them out as rows.

    Raises:
        ShapeError: the teacher's shape is not the student's (or, for a top-k teacher, not the student's
            with k classes, and the indices' shape not the teacher's). TargetError: invalid targets or indices.
        OptionError: options that cannot be honoured (:meth:`DistillOptions.checked`).
    """
    options = options.checked()
    student_name, targets_name, teacher_name = names
    shape = tuple(int(n) for n in (student.shape if hasattr(student, "shape") else np.shape(student)))
    sample_shape = _sample_shape(shape, class_axis)
    has_targets = targets is not None
    given = targets if has_targets else np.zeros(sample_shape, dtype=np.int64)
    validated = validate_inputs(
        student,
        given,
        ignore_index=options.ignore_index,
        class_axis=class_axis,
        names=(student_name, targets_name, "weight"),
    )
    if validated.probability_targets:
        raise TargetError(f"{targets_name}: distillation's hard loss takes class indices, not probabilities")
    teacher_shape = tuple(teacher.shape) if hasattr(teacher, "shape") else np.shape(teacher)
    if indices is None:
        if options.sparse is not None:
            raise ShapeError("--sparse-teacher goes with a top-k teacher: give its class indices (--teacher-indices)")
        if teacher_shape != shape:
            raise ShapeError(
                f"{teacher_name} has shape {teacher_shape} and {student_name} {shape}; distillation compares them "
                "class by class, in one shape (a top-k teacher needs --teacher-indices)"
            )
        teacher_rows = validate_inputs(teacher, given, class_axis=class_axis, ignore_index=options.ignore_index).rows
        return DistillInputs(validated, teacher_rows, None, has_targets, options, names)
    if options.sparse is None:
        options = DistillOptions(
            options.temperature,
            options.alpha,
            options.divergence,
            options.teacher_form,
            options.ignore_index,
            "renormalize",
        )
    index_rows, _ = rows_last(indices, class_axis, "teacher indices")
    value_rows, value_samples = rows_last(teacher, class_axis, teacher_name)
    if np.shape(indices) != teacher_shape or value_samples != sample_shape:
        raise ShapeError(
            f"a top-k teacher's values {teacher_shape} and indices {np.shape(indices)} must have one shape, the "
            f"student's {shape} with k in place of its {validated.num_classes} classes"
        )
    if index_rows.dtype.kind not in "iu" and not np.all(index_rows == np.round(index_rows)):
        raise TargetError("teacher indices must be whole numbers (class indices)")
    index_rows = index_rows.astype(np.int64)
    if np.any((index_rows < 0) | (index_rows >= validated.num_classes)):
        raise TargetError(f"teacher indices must be class indices in [0, {validated.num_classes})")
    return DistillInputs(validated, value_rows, index_rows, has_targets, options, names)
