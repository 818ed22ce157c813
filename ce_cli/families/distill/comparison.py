"""``compare --task distill``: every divergence side by side, with and without T^2, and PyTorch's two means.

For the counted samples: forward KL, reverse KL, JS, the soft-target cross-entropy ``H(p_t, p_s)`` and the
teacher's entropy ``H(p_t)``, with the identity ``H(p_t, p_s) = KL(p_t || p_s) + H(p_t)`` checked; each
as the mean of ``T^2 D`` and of ``D`` alone. Then PyTorch's ``kl_div(log_softmax(s / T), softmax(t / T))
* T^2`` with ``reduction="batchmean"`` (the sum over every sample and class divided by ``input.shape[0]``:
the KD loss) beside ``reduction="mean"`` (divided by every element, samples times classes: the classic
mistake, C times too small for 2-D input), both over every sample as ``kl_div`` has no ignore index.
"""

from __future__ import annotations

import math
from typing import Any, TextIO

import numpy as np

from ce_cli.array_types import Float64Array
from ce_cli.blocks import run_blocks
from ce_cli.data_warnings import DataWarning
from ce_cli.families.distill.divergences import (
    cross_entropy_rows,
    divergence_rows,
    entropy_rows,
    softened_log_probs,
    sparse_log_probs,
    teacher_log_probs,
)
from ce_cli.families.distill.inputs import DistillInputs
from ce_cli.records import frozen
from ce_cli.render import RenderOptions, Writer
from ce_cli.render.numbers import json_number, short_number, write_json_line

ROWS = (
    ("forward_kl", "KL(teacher || student), the standard KD"),
    ("reverse_kl", "KL(student || teacher)"),
    ("js", "Jensen-Shannon divergence"),
    ("soft_cross_entropy", "H(p_t, p_s) = KL(p_t || p_s) + H(p_t)"),
    ("teacher_entropy", "H(p_t), the teacher's entropy"),
)


@frozen
class DivergenceRow:
    name: str
    description: str
    with_t2: float
    without_t2: float


@frozen
class DistillComparison:
    """The rows of ``compare --task distill`` (see the module docstring)."""

    inputs: DistillInputs
    rows: tuple[DivergenceRow, ...]
    identity_gap: float
    kl_div_batchmean: float
    kl_div_mean: float
    warnings: tuple[DataWarning, ...] = ()


def _block_terms(inputs: DistillInputs, start: int, stop: int) -> Float64Array:
    """``(B, 6)``: forward, reverse, JS, soft cross-entropy, teacher entropy (without T^2), counted."""
    options = inputs.options
    student = np.asarray(inputs.student.rows[start:stop], dtype=np.float64)
    teacher = np.asarray(inputs.teacher[start:stop], dtype=np.float64)
    if inputs.indices is not None:
        assert options.sparse is not None
        indices = inputs.indices[start:stop]
        log_t, log_s = sparse_log_probs(
            student, teacher, indices, options.teacher_form, options.temperature, options.sparse
        )
    else:
        log_t = teacher_log_probs(teacher, options.teacher_form, options.temperature)
        log_s = softened_log_probs(student, options.temperature)
    counted = inputs.counted[start:stop].astype(np.float64)
    columns = [divergence_rows(log_t, log_s, d) for d in ("forward_kl", "reverse_kl", "js")]
    columns += [cross_entropy_rows(log_t, log_s), entropy_rows(log_t), counted]
    return np.stack(columns, axis=1)


def compare_divergences(inputs: DistillInputs) -> DistillComparison:
    """Every divergence of ``inputs``, averaged over the counted samples, with and without T^2."""
    terms = np.concatenate(list(run_blocks(inputs.student.rows, lambda a, b: _block_terms(inputs, a, b))), axis=0)
    counted = terms[:, 5] > 0
    n = int(np.count_nonzero(counted))
    t2 = inputs.options.temperature**2
    with np.errstate(invalid="ignore", over="ignore"):
        means = np.sum(terms[counted, :5], axis=0) / n if n else np.full(5, math.nan)
        rows = tuple(
            DivergenceRow(name, text, t2 * float(m), float(m)) for (name, text), m in zip(ROWS, means, strict=True)
        )
        gap = float(means[3] - means[0] - means[4])
        total_kl = float(np.sum(terms[:, 0])) * t2
    shape = inputs.student.logits_shape
    first = shape[0] if len(shape) > 1 else 1
    numel = int(np.prod(shape)) if shape else 1
    return DistillComparison(inputs, rows, gap, total_kl / first, total_kl / numel)


def comparison_json(comparison: DistillComparison) -> dict[str, Any]:
    options = comparison.inputs.options
    return {
        "task": "distill",
        "temperature": options.temperature,
        "t2_factor": options.temperature**2,
        "divergences": [
            {
                "name": row.name,
                "description": row.description,
                "mean": json_number(row.with_t2),
                "mean_without_t2": json_number(row.without_t2),
            }
            for row in comparison.rows
        ],
        "identity_gap": json_number(comparison.identity_gap),
        "kl_div_batchmean": json_number(comparison.kl_div_batchmean),
        "kl_div_mean": json_number(comparison.kl_div_mean),
    }


def write_json(comparison: DistillComparison, stream: TextIO, options: RenderOptions) -> None:
    write_json_line(comparison_json(comparison) | options.json_keys(1), stream)


def write_table(comparison: DistillComparison, stream: TextIO, options: RenderOptions) -> None:
    from rich.table import Table

    from ce_cli.render.tables import make_console

    t = comparison.inputs.options.temperature
    table = Table(title=f"divergences at T = {t:g}, mean over the counted samples", title_justify="left")
    table.add_column("divergence", no_wrap=True)
    table.add_column("x T^2", justify="right", no_wrap=True)
    table.add_column("without T^2", justify="right", no_wrap=True)
    table.add_column("what it is")
    for row in comparison.rows:
        table.add_row(row.name, short_number(row.with_t2), short_number(row.without_t2), row.description)
    console = make_console(stream)
    console.print(table)
    console.print(
        f"H(p_t, p_s) - KL - H(p_t) = {short_number(comparison.identity_gap)} (the identity, up to rounding)",
        highlight=False,
    )
    console.print(
        f"PyTorch kl_div(log_softmax(s/T), softmax(t/T)) * T^2: reduction='batchmean' "
        f"{short_number(comparison.kl_div_batchmean)} (the KD loss), reduction='mean' "
        f"{short_number(comparison.kl_div_mean)} (divides by classes too: the classic mistake)",
        highlight=False,
    )


def _csv(delimiter: str) -> Writer[DistillComparison]:
    def write(comparison: DistillComparison, stream: TextIO, options: RenderOptions) -> None:
        stream.write(delimiter.join(["divergence", "mean", "mean_without_t2"]) + "\n")
        for row in comparison.rows:
            stream.write(delimiter.join([row.name, repr(row.with_t2), repr(row.without_t2)]) + "\n")
        stream.write(delimiter.join(["kl_div_batchmean", repr(comparison.kl_div_batchmean), ""]) + "\n")
        stream.write(delimiter.join(["kl_div_mean", repr(comparison.kl_div_mean), ""]) + "\n")

    return write


WRITERS: dict[str, Writer[DistillComparison]] = {
    "table": write_table,
    "json": write_json,
    "csv": _csv(","),
    "tsv": _csv("\t"),
}
