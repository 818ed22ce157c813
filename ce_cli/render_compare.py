"""Write a :class:`~ce_cli.compare.Comparison`: table, JSON, CSV/TSV. Nothing computed here."""

from __future__ import annotations

import csv
import json
from typing import Any, TextIO

import numpy as np

from ce_cli.compare import REFERENCE, Comparison, abs_diff
from ce_cli.formulas import Formula
from ce_cli.render import (
    add_sample_rows,
    format_number,
    index_text,
    json_number,
    json_values,
    make_console,
    short_number,
    shown_positions,
)

OTHERS: tuple[Formula, ...] = ("log_softmax_nll", "naive")
# (column key, table header): each other formula is followed by its difference to the reference.
TABLE_COLUMNS = (
    (REFERENCE, REFERENCE),
    ("log_softmax_nll", "log_softmax_nll"),
    ("diff_log_softmax_nll", "diff"),
    ("naive", "naive"),
    ("diff_naive", "diff"),
)


def comparison_json(comparison: Comparison) -> dict[str, Any]:
    """``{"formulas": {name: {"losses", "mean", "sum"}}, "max_abs_diff": {name: d}, ...}``."""
    return {
        "shape": list(comparison.logits_shape),
        "formulas": {
            name: {"losses": json_values(r.losses), "mean": json_number(r.mean), "sum": json_number(r.sum)}
            for name, r in comparison.results.items()
        },
        "max_abs_diff": {name: json_number(d) for name, d in comparison.max_abs_diff.items()},
        "verdicts": comparison.verdicts(),
    }


def write_json(comparison: Comparison, stream: TextIO) -> None:
    """One strict-JSON object on one line."""
    stream.write(json.dumps(comparison_json(comparison), allow_nan=False) + "\n")


def _columns(comparison: Comparison) -> dict[str, list[float]]:
    """Flat per-sample columns: each formula's loss and, for the others, its difference."""
    reference = comparison.results[REFERENCE].losses
    columns: dict[str, list[float]] = {name: r.losses.reshape(-1).tolist() for name, r in comparison.results.items()}
    for name in OTHERS:
        other = comparison.results[name].losses
        columns[f"diff_{name}"] = abs_diff(other, reference).reshape(-1).tolist()
    return columns


def write_delimited(comparison: Comparison, stream: TextIO, delimiter: str = ",") -> None:
    """A header, then ``index, target, <each formula>, diff_<each other formula>`` per sample."""
    columns = _columns(comparison)
    writer = csv.writer(stream, delimiter=delimiter, lineterminator="\n")
    writer.writerow(["index", "target", *columns])
    targets = comparison.target_class.reshape(-1).tolist()
    for flat, index in enumerate(np.ndindex(comparison.sample_shape)):
        writer.writerow([index_text(index), targets[flat], *(format_number(c[flat]) for c in columns.values())])


def write_table(comparison: Comparison, stream: TextIO, *, max_rows: int = 20) -> None:
    """Per-sample losses of every formula with differences, then means, sums and a verdict per formula."""
    from rich.table import Table

    columns = _columns(comparison)
    targets = comparison.target_class.reshape(-1)
    n = targets.size
    table = Table(title="every formula per sample (diff = |loss - cross_entropy loss|)", title_justify="left")
    table.add_column("index", justify="right")
    table.add_column("target", justify="right")
    for _, header in TABLE_COLUMNS:
        table.add_column(header, justify="right")

    def add(position: int) -> None:
        index = index_text(tuple(int(i) for i in np.unravel_index(position, comparison.sample_shape)))
        cells = [short_number(columns[key][position]) for key, _ in TABLE_COLUMNS]
        table.add_row(index, str(int(targets[position])), *cells)

    head, tail = shown_positions(n, max_rows)
    add_sample_rows(table, head, tail, n, add)

    summary = Table(title="over all samples", title_justify="left")
    summary.add_column("formula")
    summary.add_column("mean", justify="right")
    summary.add_column("sum", justify="right")
    summary.add_column("verdict against cross_entropy")
    verdicts = comparison.verdicts()
    for name, result in comparison.results.items():
        summary.add_row(name, format_number(result.mean), format_number(result.sum), verdicts[name])

    console = make_console(stream)
    if n and max_rows > 0:
        console.print(table)
    console.print(summary)
