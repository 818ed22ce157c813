"""The public distillation functions: ``kl_div`` as PyTorch's, and the KD loss. Pure numpy (plus the kernel).

The formulas are in :mod:`ce_cli.families.distill.divergences` and :mod:`ce_cli.families.distill.losses`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ce_cli.array_types import Float64Array
from ce_cli.errors import OptionError, ShapeError
from ce_cli.families.distill.divergences import KL_REDUCTIONS, Divergence, TeacherForm, kl_div_pointwise
from ce_cli.families.distill.losses import DistillOptions


def kl_div(
    input: ArrayLike,  # PyTorch's name
    target: ArrayLike,
    *,
    reduction: str = "mean",
    log_target: bool = False,
) -> float | Float64Array:
    """``torch.nn.functional.kl_div`` in float64: the elementwise ``target * (log target - input)``.

    ``input`` holds log-probabilities; ``target`` probabilities (log-probabilities with ``log_target``),
    both of any one shape. ``0 * log 0`` is 0 (``xlogy``), as in PyTorch.

    Args:
        reduction: ``"none"`` (elementwise), ``"sum"``, ``"mean"`` (the sum over every element divided by
            their number, PyTorch's default, which is not the KL divergence's mean over samples) or
            ``"batchmean"`` (the sum divided by ``input.shape[0]``, the mathematical KL per sample).

    Raises:
        OptionError: an unknown reduction. ShapeError: shapes that differ.
    """
    if reduction not in KL_REDUCTIONS:
        raise OptionError(f"reduction {reduction!r} is not one of {', '.join(KL_REDUCTIONS)}")
    x, t = np.asarray(input), np.asarray(target)
    if x.shape != t.shape:
        raise ShapeError(f"input has shape {x.shape} and target {t.shape}; kl_div takes one shape for both")
    out = kl_div_pointwise(x, t, log_target)
    if reduction == "none":
        return out
    with np.errstate(invalid="ignore", over="ignore"):
        total = float(np.sum(out))
    if reduction == "sum":
        return total
    if reduction == "mean":
        return total / out.size if out.size else float("nan")
    return total / x.shape[0] if x.ndim else total


def distillation_loss(
    student_logits: ArrayLike,
    teacher_logits: ArrayLike,
    targets: ArrayLike | None = None,
    *,
    temperature: float = 1.0,
    alpha: float = 1.0,
    divergence: Divergence = "forward_kl",
    teacher_form: TeacherForm = "logits",
    class_axis: int = 1,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> float | Float64Array:
    """The knowledge-distillation loss ``alpha T^2 D(p_teacher_T, p_student_T) + (1 - alpha) CE(student, targets)``.

    Shapes: ``student_logits`` and ``teacher_logits`` ``(N, C)``, ``(N, C, d1, ...)`` (class axis 1) or
    ``(N, T, V)`` with ``class_axis=-1``; ``targets`` of the sample shape (the logits' without the class axis).
    The per-sample loss and ``D`` are in :mod:`ce_cli.families.distill.losses`.

    Args:
        teacher_logits: the teacher's values in ``teacher_form`` (``"logits"``, ``"probabilities"``,
            ``"log_probabilities"``); the temperature applies to logits only.
        reduction: ``"mean"`` (over the counted samples: targets not ``ignore_index``, or every sample
            without targets), ``"sum"`` or ``"none"`` (per sample, in the sample shape).

    Raises:
        OptionError, ShapeError, TargetError: for invalid input.
    """
    from ce_cli.families.distill.inputs import validate_distill
    from ce_cli.families.distill.report import build_distill_report

    options = DistillOptions(temperature, alpha, divergence, teacher_form, ignore_index).checked()
    if reduction not in ("none", "sum", "mean"):
        raise OptionError(f"reduction {reduction!r} is not one of none, sum, mean")
    student = student_logits if hasattr(student_logits, "shape") else np.asarray(student_logits)
    teacher = teacher_logits if hasattr(teacher_logits, "shape") else np.asarray(teacher_logits)
    given = None if targets is None else np.asarray(targets)
    inputs = validate_distill(
        student, given, teacher, options, class_axis=class_axis, names=("student logits", "targets", "teacher")
    )
    report = build_distill_report(inputs)  # blocks on every core, the compiled KL where it applies
    if reduction == "none":
        out: Float64Array = report.losses.reshape(inputs.sample_shape)
        return out
    return report.sum if reduction == "sum" else report.mean
