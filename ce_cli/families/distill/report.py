"""What a distillation ``compute`` found: per-sample soft, hard and total losses, their means. Pure numpy.

Evaluated block by block on every core (:mod:`ce_cli.blocks`), the student's and the teacher's rows of
a block read together; the forward KL of a teacher given as logits runs in the compiled kernel, which
reads both rows in one pass (:func:`ce_cli.paired.kl.kl_per_sample`'s kernel, at the temperature).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ce_cli.array_types import BoolArray, Float64Array
from ce_cli.blocks import run_blocks
from ce_cli.data_warnings import DataWarning, TeacherForm
from ce_cli.families.distill.inputs import DistillInputs
from ce_cli.families.distill.losses import block_losses
from ce_cli.families.softmax.losses import Reduction
from ce_cli.native import active as active_kernel
from ce_cli.records import frozen
from ce_cli.row_checks import sum_tolerance


@frozen
class DistillReport:
    """The result of one distillation; per-sample arrays are flat ``(M,)`` over ``inputs.sample_shape``.

    Attributes:
        soft: ``T^2 D(p_teacher_T, p_student_T)`` per sample (computed for ignored samples too).
        hard: the student's cross-entropy at the targets (0 where ignored), or ``None`` without targets.
        losses: ``alpha soft + (1 - alpha) hard`` (``soft`` without targets), 0 where ignored.
        counted: the samples that count.
        predicted: the student's top class (the first of a tie), or ``None`` when not asked for.
        reference: the class a prediction is right at: the target, or the teacher's top class without
            targets; ``None`` when not asked for.
        reduction: the headline value asked for.
        warnings: what a user should know about the data.
    """

    inputs: DistillInputs
    soft: Float64Array
    hard: Float64Array | None
    losses: Float64Array
    counted: BoolArray
    predicted: np.ndarray | None
    reference: np.ndarray | None
    reduction: Reduction
    warnings: tuple[DataWarning, ...]

    @property
    def n_samples(self) -> int:
        return len(self.losses)

    @property
    def n_counted(self) -> int:
        return int(np.count_nonzero(self.counted))

    @property
    def sum(self) -> float:
        with np.errstate(invalid="ignore", over="ignore"):
            return float(np.sum(self.losses))

    def _mean_of(self, values: Float64Array | None) -> float:
        if values is None or not self.n_counted:
            return math.nan
        with np.errstate(invalid="ignore", over="ignore"):
            return float(np.sum(values[self.counted])) / self.n_counted

    @property
    def mean(self) -> float:
        """The sum over the counted samples (NaN if none count)."""
        return self.sum / self.n_counted if self.n_counted else math.nan

    @property
    def soft_mean(self) -> float:
        return self._mean_of(self.soft)

    @property
    def hard_mean(self) -> float:
        return self._mean_of(self.hard)

    @property
    def value(self) -> float:
        return self.sum if self.reduction == "sum" else self.mean


def _native_forward_kl(inputs: DistillInputs) -> Callable[[Any, Any], Float64Array] | None:
    """The compiled KL at the temperature, where it computes this loss's divergence (forward KL, teacher logits)."""
    kernel = active_kernel()
    options = inputs.options
    if not (kernel.native and kernel.module is not None and hasattr(kernel.module, "kl_rows")):
        return None
    if options.divergence != "forward_kl" or options.teacher_form != "logits" or inputs.indices is not None:
        return None
    module, index = kernel.module, kernel.index

    def run(teacher: Any, student: Any) -> Float64Array:
        out = np.empty(len(student))
        module.kl_rows(index, teacher, student, options.temperature, out)
        return out

    return run


def teacher_warnings(inputs: DistillInputs, teacher_rows: list[tuple[int, int, int]]) -> list[DataWarning]:
    """A teacher that looks like another form than it was declared: ``teacher_rows`` holds per block
    ``(rows, rows that are probability rows, rows with a value above 0)``."""
    rows = sum(r for r, _, _ in teacher_rows)
    probability_rows = sum(p for _, p, _ in teacher_rows)
    positive_rows = sum(q for _, _, q in teacher_rows)
    form = inputs.options.teacher_form
    if not rows:
        return []
    if form == "logits" and probability_rows == rows:
        return [TeacherForm("logits", "probabilities", rows, rows)]
    if form == "probabilities" and probability_rows < rows:
        return [TeacherForm("probabilities", "logits", rows - probability_rows, rows)]
    if form == "log_probabilities" and positive_rows:
        return [TeacherForm("log_probabilities", "logits", positive_rows, rows)]
    return []


def _teacher_facts(teacher: Any, form: str) -> tuple[int, int, int]:
    values = np.asarray(teacher, dtype=np.float64)
    if form == "log_probabilities":
        values = np.exp(values)
    with np.errstate(invalid="ignore"):
        in_unit = np.all((values >= 0.0) & (values <= 1.0), axis=1)
        sums_to_one = np.abs(np.sum(values, axis=1) - 1.0) <= sum_tolerance(values, np.dtype(np.float32))
        positive = np.any(np.asarray(teacher, dtype=np.float64) > 0.0, axis=1)
    return len(values), int(np.count_nonzero(in_unit & sums_to_one)), int(np.count_nonzero(positive))


def build_distill_report(
    inputs: DistillInputs,
    reduction: Reduction = "mean",
    *,
    predictions: bool = False,
    progress: Callable[[int], None] | None = None,
) -> DistillReport:
    """Evaluate ``inputs`` block by block into a :class:`DistillReport`; ``predictions`` also finds each
    sample's predicted and reference class (``diff`` needs them; the losses do not)."""
    count = inputs.num_samples
    soft, losses = np.empty(count), np.empty(count)
    hard = np.empty(count) if inputs.has_targets else None
    counted = np.empty(count, dtype=bool)
    predicted = np.empty(count, dtype=np.intp) if predictions else None
    reference = np.empty(count, dtype=np.intp) if predictions else None
    compiled = _native_forward_kl(inputs)
    options = inputs.options

    def one_block(start: int, stop: int) -> tuple[int, int, int]:
        student = inputs.student.rows[start:stop]
        teacher = inputs.teacher[start:stop]
        targets = inputs.student.targets[start:stop] if inputs.has_targets else None
        indices = None if inputs.indices is None else inputs.indices[start:stop]
        divergence = None if compiled is None else compiled(np.asarray(teacher), np.asarray(student))
        block = block_losses(student, teacher, targets, options, indices, divergence)
        soft[start:stop], losses[start:stop], counted[start:stop] = block.soft, block.loss, block.counted
        if hard is not None and block.hard is not None:
            hard[start:stop] = block.hard
        if predicted is not None and reference is not None:
            predicted[start:stop] = np.argmax(np.asarray(student), axis=1)
            if targets is not None:
                reference[start:stop] = targets
            else:
                top = np.argmax(np.asarray(teacher), axis=1)
                reference[start:stop] = (
                    top if indices is None else np.take_along_axis(indices, top[:, None], axis=1)[:, 0]
                )
        return _teacher_facts(teacher, options.teacher_form)

    facts = list(run_blocks(inputs.student.rows, one_block, progress=progress))
    warnings = teacher_warnings(inputs, facts)
    return DistillReport(inputs, soft, hard, losses, counted, predicted, reference, reduction, tuple(warnings))
