"""Write a :class:`~ce_cli.families.distill.report.DistillReport`: table, JSON, CSV/TSV, one number, a losses file.

JSON keys (a contract for scripts): ``task`` ("distill"), ``temperature``, ``alpha``, ``divergence``,
``soft_mean``, ``hard_mean``, ``mean``, ``sum``, ``losses``, with ``reduction``, ``shape``, ``value``,
``n_samples``, ``n_ignored``, ``numerator``, ``denominator``, ``t2_factor``, ``teacher_form``,
``sparse_teacher``, ``soft`` and ``hard`` (per sample).
"""

from __future__ import annotations

from typing import Any, TextIO

import numpy as np

from ce_cli.families.distill.report import DistillReport
from ce_cli.render import DEFAULT_OPTIONS, RenderOptions, Writer, losses_file_encoders
from ce_cli.render.delimited import index_cells, write_delimited
from ce_cli.render.numbers import format_number, json_number, json_values, short_number, spelled, write_json_line
from ce_cli.render.tables import add_sample_rows, make_console


def report_json(report: DistillReport, options: RenderOptions = DEFAULT_OPTIONS) -> dict[str, Any]:
    """The JSON object (see the module docstring for its keys)."""
    o = report.inputs.options
    shape = report.inputs.sample_shape
    out: dict[str, Any] = {
        "task": "distill",
        "reduction": report.reduction,
        "shape": list(shape),
        "temperature": o.temperature,
        "alpha": o.alpha,
        "divergence": o.divergence,
        "teacher_form": o.teacher_form,
        "sparse_teacher": o.sparse,
        "t2_factor": o.temperature**2,
        "soft_mean": json_number(report.soft_mean),
        "hard_mean": json_number(report.hard_mean) if report.hard is not None else None,
        "mean": json_number(report.mean),
        "sum": json_number(report.sum),
        "value": json_number(report.value),
        "n_samples": report.n_samples,
        "n_ignored": report.n_samples - report.n_counted,
        "numerator": json_number(report.sum),
        "denominator": report.n_counted,
        "losses": json_values(report.losses.reshape(shape)),
        "soft": json_values(report.soft.reshape(shape)),
        "hard": None if report.hard is None else json_values(report.hard.reshape(shape)),
    }
    out.update(options.json_keys(shape[0] if shape else 1))
    return out


def write_json(report: DistillReport, stream: TextIO, options: RenderOptions) -> None:
    write_json_line(report_json(report, options), stream)


def summary_lines(report: DistillReport) -> list[tuple[str, str]]:
    """The summary: the means, the T^2 factor, what the mean divided by."""
    o = report.inputs.options
    direction = {
        "forward_kl": "KL(teacher || student)",
        "reverse_kl": "KL(student || teacher)",
        "js": "JS(teacher, student)",
    }[o.divergence]
    temperature = format_number(o.temperature)
    lines = [
        ("soft", f"{format_number(o.temperature**2)} x {direction} at T = {temperature} (T^2 applied)"),
        ("soft mean", short_number(report.soft_mean)),
    ]
    if report.hard is not None:
        lines += [
            ("hard mean", f"{short_number(report.hard_mean)} (cross-entropy at the targets, T = 1)"),
            ("loss", f"{format_number(o.alpha)} x soft + {format_number(1.0 - o.alpha)} x hard"),
        ]
    counted = report.n_counted
    ignored = report.n_samples - counted
    divided = f"{counted} counted samples" + (f" ({ignored} ignored)" if ignored else "")
    lines += [("mean", f"{short_number(report.mean)}, the sum over {divided}"), ("sum", short_number(report.sum))]
    return lines


def write_table(report: DistillReport, stream: TextIO, options: RenderOptions) -> None:
    """Per-sample soft, hard and loss, then the summary."""
    from rich.table import Table

    table = Table(title="distillation, per sample", title_justify="left")
    table.add_column(options.index_header, justify="right", no_wrap=True)
    for name in ("soft", *(("hard",) if report.hard is not None else ()), "loss"):
        table.add_column(name, justify="right", no_wrap=True)
    shape = report.inputs.sample_shape

    def add(i: int) -> None:
        index = index_cells(options, shape, i, i + 1)[0]
        counted = bool(report.counted[i])
        cells = [short_number(report.soft[i])]
        if report.hard is not None:
            cells.append(short_number(report.hard[i]) if counted else "ignored")
        cells.append(short_number(report.losses[i]) if counted else "ignored")
        table.add_row(index, *cells)

    add_sample_rows(table, report.n_samples, options.max_rows, add)
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column()
    for name, value in summary_lines(report):
        summary.add_row(name, value)
    console = make_console(stream)
    console.print(table)
    console.print(summary)


def _delimited(delimiter: str) -> Writer[DistillReport]:
    def write(report: DistillReport, stream: TextIO, options: RenderOptions) -> None:
        shape = report.inputs.sample_shape

        def columns(start: int, stop: int) -> list[list[str]]:
            cells = [index_cells(options, shape, start, stop), spelled(report.soft[start:stop])]
            if report.hard is not None:
                cells.append(spelled(report.hard[start:stop]))
            return [*cells, spelled(report.losses[start:stop])]

        header = [options.index_header, "soft", *(["hard"] if report.hard is not None else []), "loss"]
        write_delimited(stream, delimiter, header, report.n_samples, columns)

    return write


def write_quiet(report: DistillReport, stream: TextIO) -> None:
    if report.reduction == "none":
        stream.write("".join(v + "\n" for v in spelled(report.losses)))
    else:
        stream.write(format_number(report.value) + "\n")


def _losses(report: DistillReport) -> np.ndarray:
    return report.losses.reshape(report.inputs.sample_shape)


WRITERS: dict[str, Writer[DistillReport]] = {
    "table": write_table,
    "json": write_json,
    "csv": _delimited(","),
    "tsv": _delimited("\t"),
}
LOSSES_FILE_ENCODERS = losses_file_encoders(_losses, WRITERS["csv"], WRITERS["tsv"])
