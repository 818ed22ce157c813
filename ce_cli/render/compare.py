"""Write a :class:`~ce_cli.comparison.Comparison`: table, JSON, CSV/TSV.

Columns follow the registry: each formula's losses, and after each formula
but the reference its per-sample difference from the reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np
from numpy.typing import NDArray

from ce_cli.families.binary.inputs import BinaryInputs
from ce_cli.formulas import REFERENCE
from ce_cli.render import DEFAULT_OPTIONS, RenderOptions, Writer
from ce_cli.render.numbers import (
    column_format,
    format_number,
    json_number,
    json_values,
    short_number,
    write_json_line,
)
from ce_cli.render.tables import add_sample_rows, fits, make_console, shown

if TYPE_CHECKING:  # imported by compare itself: not at start-up
    from rich.table import Table

    from ce_cli.comparison import Comparison


def comparison_json(comparison: Comparison, options: RenderOptions = DEFAULT_OPTIONS) -> dict[str, Any]:
    """``{"formulas": {name: {"losses", "mean", "sum"}}, "max_abs_diff": {name: d}, ..., "read": [...]}``."""
    return {
        "task": "binary" if isinstance(comparison.inputs, BinaryInputs) else "multiclass",
        "shape": list(comparison.inputs.logits_shape),
        "formulas": {
            name: {"losses": json_values(r.per_sample), "mean": json_number(r.mean), "sum": json_number(r.sum)}
            for name, r in comparison.results.items()
        },
        "max_abs_diff": {name: json_number(d) for name, d in comparison.max_abs_diff.items()},
        "verdicts": comparison.verdicts(),
        **options.json_keys(comparison.inputs.sample_shape[0] if comparison.inputs.sample_shape else 1),
    }


def _target(value: float) -> str:
    """A class index or a 0/1 target as a whole number; a soft binary target with its decimals."""
    return str(int(value)) if float(value).is_integer() else short_number(value)


def write_json(comparison: Comparison, stream: TextIO, options: RenderOptions) -> None:
    """One strict-JSON object on one line."""
    write_json_line(comparison_json(comparison, options), stream)


def _columns(comparison: Comparison) -> dict[str, tuple[str, NDArray[np.float64]]]:
    """Column key -> (table header, flat values): each formula's losses, each other one followed by its diff.

    Arrays, not lists: a table turns only the rows it shows into text.
    """
    columns: dict[str, tuple[str, NDArray[np.float64]]] = {}
    for name, result in comparison.results.items():
        columns[name] = (name, result.per_sample.reshape(-1))
        if name != REFERENCE:
            columns[f"diff_{name}"] = ("diff", comparison.differences[name].reshape(-1))
    return columns


def _write_delimited(comparison: Comparison, stream: TextIO, delimiter: str, options: RenderOptions) -> None:
    """A header, then ``index, target, <each formula>, diff_<each other formula>`` per sample."""
    import csv

    columns = _columns(comparison)
    keys = [*comparison.results, *(key for key in columns if key not in comparison.results)]
    writer = csv.writer(stream, delimiter=delimiter, lineterminator="\n")
    writer.writerow([options.index_header, "target", *keys])
    targets = [_target(t) for t in comparison.target_class.reshape(-1).tolist()]
    for flat, index in enumerate(np.ndindex(comparison.inputs.sample_shape)):
        cells = (format_number(columns[key][1][flat]) for key in keys)
        writer.writerow([options.index_text(index), targets[flat], *cells])


def write_csv(comparison: Comparison, stream: TextIO, options: RenderOptions) -> None:
    """Comma-separated: a header row, then one row per sample."""
    _write_delimited(comparison, stream, ",", options)


def write_tsv(comparison: Comparison, stream: TextIO, options: RenderOptions) -> None:
    """Tab-separated: a header row, then one row per sample."""
    _write_delimited(comparison, stream, "\t", options)


def _sample_table(comparison: Comparison, options: RenderOptions, differences: bool) -> Table:
    """Per-sample losses of every formula; with ``differences``, each differing formula's ``|loss - reference|``."""
    from rich.table import Table

    maxima = comparison.max_abs_diff
    columns = {
        key: column
        for key, column in _columns(comparison).items()
        if not key.startswith("diff_") or (differences and maxima.get(key.removeprefix("diff_"), 0.0) != 0.0)
    }
    targets = comparison.target_class.reshape(-1)
    n = targets.size
    shown_diff = any(key.startswith("diff_") for key in columns)
    title = f"every formula per sample (diff = |loss - {REFERENCE} loss|)" if shown_diff else "every formula per sample"
    table = Table(title=title, title_justify="left")
    table.add_column(options.index_header, justify="right", no_wrap=True)
    table.add_column("target", justify="right", no_wrap=True)
    for header, _ in columns.values():
        table.add_column(header, justify="right", no_wrap=True)
    positions = shown(n, options.max_rows)
    spell = [column_format(values.reshape(-1)[positions]) for _, values in columns.values()]

    def add(position: int) -> None:
        cells = [fmt(values[position]) for fmt, (_, values) in zip(spell, columns.values(), strict=True)]
        index = options.sample_text(position, comparison.inputs.sample_shape)
        table.add_row(index, _target(targets[position]), *cells)

    add_sample_rows(table, n, options.max_rows, add)
    return table


def copied_loop_line(comparison: Comparison) -> str | None:
    """The often-copied loop's number: it adds ``-log q[t]`` once per class of each sample, so it prints
    ``C x naive`` (after dividing by N); naive's sum is the same number only where ``N = C``."""
    if isinstance(comparison.inputs, BinaryInputs) or "naive" not in comparison.results:
        return None
    classes = int(comparison.inputs.num_classes)
    naive = comparison.results["naive"]
    loop = classes * naive.mean
    line = (
        f"the often-copied loop adds -log q[t] once per class, then divides by N: it prints C · naive = "
        f"{classes} · {short_number(naive.mean)} = {short_number(loop)}"
    )
    counted = int(np.count_nonzero(comparison.inputs.counted))
    if counted == classes:
        line += f"; naive's sum is the same number here only because N = C = {classes}"
    return line


def write_table(comparison: Comparison, stream: TextIO, options: RenderOptions) -> None:
    """Per-sample losses of every formula with the differences that are not 0 (all of them where the width
    allows), then means and sums, each formula's verdict under them, and the often-copied loop's number."""
    from rich.table import Table

    console = make_console(stream)
    table = _sample_table(comparison, options, differences=True)
    if not fits(console, table):
        table = _sample_table(comparison, options, differences=False)  # the summary's verdicts say by how much
    summary = Table(title="over all samples", title_justify="left")
    summary.add_column("formula")
    summary.add_column("mean", justify="right", no_wrap=True)
    summary.add_column("sum", justify="right", no_wrap=True)
    for name, result in comparison.results.items():
        summary.add_row(name, format_number(result.mean), format_number(result.sum))
    n = comparison.target_class.size
    if n and options.max_rows > 0:
        console.print(table)
    console.print(summary)
    for name, verdict in comparison.verdicts().items():
        console.print(f"{name}: {verdict}" if name == REFERENCE else f"{name} against {REFERENCE}: {verdict}")
    loop = copied_loop_line(comparison)
    if loop is not None:
        console.print(loop)


WRITERS: Mapping[str, Writer[Comparison]] = {
    "table": write_table,
    "json": write_json,
    "csv": write_csv,
    "tsv": write_tsv,
}
