"""``explain --task distill --sample I``: one sample's distillation loss, class by class. Pure numpy.

Both softened distributions ``p_T = softmax(z / T)``, each class's term of the divergence, the T^2
factor, and the gradient of the loss with respect to the student's logits. With ``g = dD/dp_s`` (forward
KL: ``-p_t / p_s``; reverse: ``log(p_s / p_t) + 1``; JS: ``log(p_s / m) / 2``), the chain rule through
``softmax(s / T)`` gives ``d(T^2 D)/ds = T p_s (g - <p_s, g>)``: ``T (p_s - p_t)`` for the forward KL,
whose ``1 / T`` from the softened logits is why Hinton et al. scale the soft loss by T^2 (the soft
gradients would otherwise shrink as ``1 / T^2`` for large T). The hard part adds
``(1 - alpha) (softmax(s) - onehot(target))``.
"""

from __future__ import annotations

from typing import Any, TextIO

import numpy as np

from ce_cli.array_types import Float64Array
from ce_cli.errors import OptionError
from ce_cli.families.distill.divergences import softened_log_probs, teacher_log_probs
from ce_cli.families.distill.inputs import DistillInputs
from ce_cli.families.distill.losses import block_losses
from ce_cli.records import frozen
from ce_cli.render import RenderOptions, Writer
from ce_cli.render.numbers import json_number, json_values, short_number, write_json_line


@frozen
class DistillDerivation:
    """One sample's distillation, class by class (``(C,)`` arrays)."""

    inputs: DistillInputs
    flat: int
    student: Float64Array
    teacher: Float64Array
    p_student: Float64Array
    p_teacher: Float64Array
    terms: Float64Array
    divergence: float
    soft: float
    hard: float | None
    loss: float
    target: int | None
    gradient: Float64Array


def _soft_gradient(
    p_s: Float64Array, log_s: Float64Array, log_t: Float64Array, divergence: str, t: float
) -> Float64Array:
    p_t = np.exp(log_t)
    with np.errstate(divide="ignore", invalid="ignore"):
        if divergence == "forward_kl":
            return t * (p_s - p_t)
        # dD/dp_s up to a constant, which the centring removes: reverse KL, JS
        log_m = np.logaddexp(log_t, log_s) - np.log(2.0)
        g = log_s - log_t if divergence == "reverse_kl" else 0.5 * (log_s - log_m)
        g = np.where(p_s == 0.0, 0.0, g)
        out: Float64Array = t * p_s * (g - np.sum(p_s * g))
    return out


def derive_distill(inputs: DistillInputs, flat: int) -> DistillDerivation:
    """The derivation of the sample at flat position ``flat``.

    Raises:
        OptionError: a top-k teacher (explain shows a dense teacher's classes).
    """
    if inputs.indices is not None:
        raise OptionError("explain shows a teacher over every class; a top-k teacher is scored by compute and compare")
    options = inputs.options
    t = options.temperature
    s_row = np.asarray(inputs.student.rows[flat : flat + 1], dtype=np.float64)
    t_row = np.asarray(inputs.teacher[flat : flat + 1], dtype=np.float64)
    targets = inputs.student.targets[flat : flat + 1] if inputs.has_targets else None
    block = block_losses(s_row, t_row, targets, options)
    log_s = softened_log_probs(s_row, t)[0]
    log_t = teacher_log_probs(t_row, options.teacher_form, t)[0]
    p_s, p_t = np.exp(log_s), np.exp(log_t)
    with np.errstate(invalid="ignore"):
        if options.divergence == "js":
            log_m = np.logaddexp(log_t, log_s) - np.log(2.0)
            terms = 0.5 * (
                np.where(p_t == 0.0, 0.0, p_t * (log_t - log_m)) + np.where(p_s == 0.0, 0.0, p_s * (log_s - log_m))
            )
        elif options.divergence == "reverse_kl":
            terms = np.where(p_s == 0.0, 0.0, p_s * (log_s - log_t))
        else:
            terms = np.where(p_t == 0.0, 0.0, p_t * (log_t - log_s))
    gradient = (
        options.alpha * _soft_gradient(p_s, log_s, log_t, options.divergence, t)
        if targets is not None
        else _soft_gradient(p_s, log_s, log_t, options.divergence, t)
    )
    target = None
    hard = None
    if targets is not None and block.hard is not None:
        target = int(targets[0])
        hard = float(block.hard[0])
        if bool(block.counted[0]):
            onehot = np.zeros_like(p_s)
            onehot[target] = 1.0
            gradient = gradient + (1.0 - options.alpha) * (np.exp(softened_log_probs(s_row, 1.0)[0]) - onehot)
        else:
            gradient = np.zeros_like(p_s)
    return DistillDerivation(
        inputs, flat, s_row[0], t_row[0], p_s, p_t, terms, float(block.soft[0]) / (t * t), float(block.soft[0]), hard,
        float(block.loss[0]), target, gradient,
    )  # fmt: skip


def derivation_json(d: DistillDerivation) -> dict[str, Any]:
    o = d.inputs.options
    return {
        "task": "distill",
        "sample": d.flat,
        "temperature": o.temperature,
        "alpha": o.alpha,
        "divergence": o.divergence,
        "p_student": json_values(d.p_student),
        "p_teacher": json_values(d.p_teacher),
        "terms": json_values(d.terms),
        "divergence_value": json_number(d.divergence),
        "t2_factor": o.temperature**2,
        "soft": json_number(d.soft),
        "hard": None if d.hard is None else json_number(d.hard),
        "target": d.target,
        "loss": json_number(d.loss),
        "gradient": json_values(d.gradient),
    }


def write_json(d: DistillDerivation, stream: TextIO, options: RenderOptions) -> None:
    write_json_line(derivation_json(d), stream)


def write_table(d: DistillDerivation, stream: TextIO, options: RenderOptions) -> None:
    from rich.table import Table

    from ce_cli.render.tables import fits, make_console

    o = d.inputs.options
    t = o.temperature
    term = {"forward_kl": "p_t log(p_t/p_s)", "reverse_kl": "p_s log(p_s/p_t)", "js": "JS term"}[o.divergence]

    def build(header: str, edge: bool) -> Table:
        marked = "" if d.target is None else " (◀ marks the target)"
        title = f"sample {d.flat}: softened at T = {t:g}{marked}"
        table = Table(title=title, title_justify="left", show_edge=edge, pad_edge=edge)
        for name in ("class", "student", "teacher", "p_s", "p_t", header, "dloss/ds"):
            table.add_column(name, justify="right", no_wrap=True)
        for c in range(len(d.p_student)):
            marker = " ◀" if d.target == c else ""
            table.add_row(
                f"{c}{marker}",
                short_number(d.student[c]),
                short_number(d.teacher[c]),
                short_number(d.p_student[c]),
                short_number(d.p_teacher[c]),
                short_number(d.terms[c]),
                short_number(d.gradient[c]),
            )
        return table

    console = make_console(stream)
    table = build(term, edge=True)
    if not fits(console, table):  # a narrower layout: no outer edge, the term's column named apart
        table = build("term", edge=False)
        table.caption = f"term = {term}"
    console.print(table)
    lines = [
        f"{o.divergence} = {short_number(d.divergence)}",
        f"soft = T^2 x {o.divergence} = {t * t:g} x {short_number(d.divergence)} = {short_number(d.soft)}: the soft "
        "gradients carry 1/T from the softened logits and another 1/T from the flatter targets, so T^2 keeps them "
        "as large as the hard loss's whatever T",
    ]
    if d.hard is not None:
        lines.append(f"hard = cross-entropy at target {d.target} (T = 1) = {short_number(d.hard)}")
        lines.append(f"loss = {o.alpha:g} x soft + {1 - o.alpha:g} x hard = {short_number(d.loss)}")
    else:
        lines.append(f"loss = soft = {short_number(d.loss)} (no targets)")
    for line in lines:
        console.print(line, highlight=False)


WRITERS: dict[str, Writer[DistillDerivation]] = {"table": write_table, "json": write_json}
