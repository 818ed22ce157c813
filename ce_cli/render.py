"""Write a :class:`~ce_cli.report.Report` to a stream: table, JSON, CSV/TSV or one number.

Nothing here computes losses or exits. Machine formats (JSON, CSV, TSV,
quiet) are written as plain text, never through Rich; non-finite numbers are
spelled ``NaN``, ``Infinity`` and ``-Infinity`` everywhere, so the JSON is
strict and every parser accepts it. Rich is imported only for the table.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal, TextIO

import numpy as np
from numpy.typing import NDArray

from ce_cli.report import Report

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console
    from rich.table import Table

Format = Literal["table", "json", "csv", "tsv"]
_NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


def format_number(value: float) -> str:
    """Full precision (shortest round-trip repr), or ``NaN``/``Infinity``/``-Infinity``."""
    value = float(value)
    if math.isnan(value):
        return "NaN"
    return _NON_FINITE.get(value, repr(value))


def json_number(value: float) -> float | str:
    """A float for JSON, or the string spelling of a non-finite one."""
    value = float(value)
    return value if math.isfinite(value) else format_number(value)


def json_values(values: NDArray[Any]) -> Any:
    """Nested lists (a number for a 0-d array) with non-finite values as strings."""
    array = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(array)
    if finite.all():
        return array.tolist()
    spelled = array.astype(object)
    spelled[np.isnan(array)] = "NaN"
    spelled[array == math.inf] = "Infinity"
    spelled[array == -math.inf] = "-Infinity"
    return spelled.tolist()


def report_json(report: Report) -> dict[str, Any]:
    """The JSON object scripts rely on (keys never change meaning; new ones may appear)."""
    return {
        "formula": report.formula,
        "reduction": report.reduction,
        "shape": list(report.logits_shape),
        "target_kind": "probabilities" if report.soft else "indices",
        "losses": json_values(report.losses),
        "mean": json_number(report.mean),
        "sum": json_number(report.sum),
        "value": json_number(report.value),
        "n_samples": report.n_samples,
        "n_ignored": report.n_ignored,
        "denominator": json_number(report.denominator),
        "perplexity": json_number(report.perplexity),
        "accuracy": json_number(report.accuracy),
    }


def write_json(report: Report, stream: TextIO) -> None:
    """One strict-JSON object on one line."""
    import json

    stream.write(json.dumps(report_json(report), allow_nan=False) + "\n")


def write_quiet(report: Report, stream: TextIO) -> None:
    """The headline value at full precision; for reduction ``none`` one loss per line."""
    if report.reduction == "none":
        stream.writelines(format_number(v) + "\n" for v in report.losses.reshape(-1).tolist())
    else:
        stream.write(format_number(report.value) + "\n")


def index_text(index: tuple[int, ...]) -> str:
    """``3`` for a 1-D sample index, ``(2, 3)`` for a K-dimensional one, ``0`` for unbatched."""
    if len(index) == 1:
        return str(index[0])
    return str(index) if index else "0"


def write_delimited(report: Report, stream: TextIO, delimiter: str = ",") -> None:
    """A header row, then ``index, target, predicted, p_target, loss`` per sample."""
    import csv

    writer = csv.writer(stream, delimiter=delimiter, lineterminator="\n")
    writer.writerow(["index", "target", "predicted", "p_target", "loss"])
    target = report.target_class.reshape(-1).tolist()
    predicted = report.predicted().tolist()
    probability = report.target_probability.reshape(-1).tolist()
    losses = report.losses.reshape(-1).tolist()
    for flat, index in enumerate(np.ndindex(report.sample_shape)):
        writer.writerow(
            [
                index_text(index),
                target[flat],
                predicted[flat],
                format_number(probability[flat]),
                format_number(losses[flat]),
            ]
        )


def short_number(value: float) -> str:
    """Six decimals for the table; scientific notation outside [1e-4, 1e6)."""
    value = float(value)
    if not math.isfinite(value):
        return format_number(value)
    if value == 0.0 or 1e-4 <= abs(value) < 1e6:
        return f"{value:.6f}"
    return f"{value:.6e}"


def shown_positions(n: int, max_rows: int) -> tuple[list[int], list[int]]:
    """Positions before and after the ellipsis row (the second list empty if all fit)."""
    if n <= max_rows:
        return list(range(n)), []
    head = (max_rows + 1) // 2
    return list(range(head)), list(range(n - (max_rows - head), n))


def add_sample_rows(table: Table, head: list[int], tail: list[int], n: int, add: Callable[[int], None]) -> None:
    """Call ``add`` for the ``head`` positions, then an ellipsis row, then the ``tail`` ones."""
    for position in head:
        add(position)
    if tail:
        blanks = [""] * (len(table.columns) - 2)
        table.add_row("...", f"({n - len(head) - len(tail)} more)", *blanks)
        for position in tail:
            add(position)


def make_console(stream: TextIO) -> Console:
    """A Rich console on ``stream``: no markup parsing (cells hold text like ``x[t]``), no
    highlighting, colour only where Rich allows it (a terminal, no ``NO_COLOR``), and wide
    enough that tables written to a file or pipe are never cut."""
    from rich.console import Console

    width = None if stream.isatty() else 240
    return Console(file=stream, highlight=False, markup=False, width=width)


def write_table(report: Report, stream: TextIO, *, max_rows: int = 20) -> None:
    """A Rich table, one row per sample (at most ``max_rows``), then a summary of all samples.

    Args:
        report: what to show.
        stream: where to write.
        max_rows: rows shown; longer inputs show their first and last rows
            around an ellipsis row. The summary always covers every sample.

    Colour follows Rich's rules: none on a plain stream, none under ``NO_COLOR``.
    """
    from rich.table import Table

    console = make_console(stream)
    head, tail = shown_positions(report.n_samples, max_rows)
    target = report.target_class.reshape(-1)
    shown = np.array(head + tail, dtype=np.intp)
    predicted = dict(zip(shown.tolist(), report.predicted(shown).tolist(), strict=True))
    probability = report.target_probability.reshape(-1)
    losses = report.losses.reshape(-1)
    counted = report.counted.reshape(-1)

    title = f"{report.formula} loss per sample"
    table = Table(title=title, title_justify="left")
    table.add_column("index", justify="right")
    table.add_column("target" + (" (argmax of probabilities)" if report.soft else ""), justify="right")
    table.add_column("predicted", justify="right")
    table.add_column("p(target)", justify="right")
    table.add_column("loss", justify="right")

    def add(position: int) -> None:
        index = index_text(tuple(int(i) for i in np.unravel_index(position, report.sample_shape)))
        if not counted[position]:
            table.add_row(
                index, f"{int(target[position])} (ignored)", str(int(predicted[position])), "-", short_number(0.0)
            )
            return
        table.add_row(
            index,
            str(int(target[position])),
            str(int(predicted[position])),
            short_number(probability[position]),
            short_number(losses[position]),
        )

    add_sample_rows(table, head, tail, report.n_samples, add)

    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column(justify="right")
    summary.add_row("samples", str(report.n_samples))
    if not report.soft:
        summary.add_row("ignored", str(report.n_ignored))
    if report.weighted:
        summary.add_row("weight sum (mean divides by it)", short_number(report.denominator))
    summary.add_row("mean", format_number(report.mean))
    summary.add_row("sum", format_number(report.sum))
    summary.add_row("perplexity exp(mean)", short_number(report.perplexity))
    accuracy = report.accuracy
    summary.add_row("accuracy", "-" if math.isnan(accuracy) else f"{accuracy:.2%}")

    if report.n_samples and max_rows > 0:
        console.print(table)
    console.print(summary)
