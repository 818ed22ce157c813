"""Write a :class:`~ce_cli.families.binary.report.BinaryReport`: table, JSON, CSV/TSV, one number, or a losses file.

Per-element losses keep the input's shape in JSON, CSV and ``--output``; the
table shows one row per sample (for multi-label input, its mean over labels).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, TextIO

import numpy as np

from ce_cli import records
from ce_cli.families.binary.derivation import BinaryDerivation
from ce_cli.families.binary.report import BinaryReport, LabelSummary
from ce_cli.families.softmax.summary import quantiles
from ce_cli.render import DEFAULT_OPTIONS, RenderOptions, Writer, losses_file_encoders, streamed_keys
from ce_cli.render.delimited import index_cells, write_delimited
from ce_cli.render.numbers import (
    column_format,
    format_number,
    index_text,
    json_number,
    json_values,
    short_number,
    spelled,
    write_json_line,
)
from ce_cli.render.tables import add_sample_rows, make_console, shown


def report_json(
    report: BinaryReport, options: RenderOptions = DEFAULT_OPTIONS, *, losses_list: bool = True
) -> dict[str, Any]:
    """The JSON object: the contract keys (``formula``, ``reduction``, ``shape``, ``losses``, ``mean``, ``sum``)
    and ``task``, the elements, the positives, the accuracy at the threshold and, for multi-label input, per label.
    Without ``losses_list``, ``losses`` and ``ids`` are left ``None`` for :func:`write_json` to stream."""
    out: dict[str, Any] = {
        "formula": report.formula.name,
        "reduction": report.reduction,
        "shape": list(report.inputs.shape),
        "task": "binary",
        "losses": json_values(report.losses) if losses_list else None,
        "mean": json_number(report.mean),
        "sum": json_number(report.sum),
        "value": json_number(report.value),
        "n_elements": report.inputs.num_elements,
        "positives": report.inputs.positives,
        "threshold": report.threshold,
        "accuracy": json_number(report.accuracy),
        "eps": report.clip,
    }
    out["numerator"] = json_number(report.sum)
    out["denominator"] = report.losses.size
    out["quantiles"] = {k: json_number(v) for k, v in quantiles(report.losses.reshape(-1)).items()}
    labels = report.per_label()
    if labels:
        out["per_label"] = [_label_json(label) for label in labels]
    if report.by_label:
        shares = report.per_label(single=True)
        out["by_class"] = [_label_json(label) for label in sorted(shares, key=_by_share)]
    out.update(options.json_keys(report.inputs.shape[0] if report.inputs.shape else 1, lists=losses_list))
    return out


def _label_json(label: LabelSummary) -> dict[str, Any]:
    return {
        "label": label.label,
        "positives": label.positives,
        "mean_loss": json_number(label.mean_loss),
        "loss_share": json_number(label.loss_share),
        "accuracy": json_number(label.accuracy),
    }


def _by_share(label: LabelSummary) -> tuple[float, int]:
    share = label.loss_share
    return (-share if not math.isnan(share) else math.inf, label.label)


def write_json(report: BinaryReport, stream: TextIO, options: RenderOptions) -> None:
    """One strict-JSON object on one line, its losses written a block at a time."""
    rows = report.inputs.shape[0] if report.inputs.shape else 1
    write_json_line(
        report_json(report, options, losses_list=False), stream, streamed_keys(options, rows, report.losses)
    )


def write_quiet(report: BinaryReport, stream: TextIO) -> None:
    """The headline value at full precision; for reduction ``none`` one loss per element and line."""
    if report.reduction == "none":
        stream.writelines(format_number(v) + "\n" for v in report.losses.reshape(-1).tolist())
    else:
        stream.write(format_number(report.value) + "\n")


def _write_delimited(report: BinaryReport, stream: TextIO, delimiter: str, options: RenderOptions) -> None:
    """A header row, then ``index, target, loss`` per element (tuple indices beyond one axis), a block at a time."""
    targets, losses = report.inputs.targets.reshape(-1), report.losses.reshape(-1)
    shape = report.inputs.shape

    def columns(start: int, stop: int) -> list[list[str]]:
        return [index_cells(options, shape, start, stop), spelled(targets[start:stop]), spelled(losses[start:stop])]

    write_delimited(stream, delimiter, [options.index_header, "target", "loss"], len(losses), columns)


def write_csv(report: BinaryReport, stream: TextIO, options: RenderOptions) -> None:
    _write_delimited(report, stream, ",", options)


def write_tsv(report: BinaryReport, stream: TextIO, options: RenderOptions) -> None:
    _write_delimited(report, stream, "\t", options)


def write_table(report: BinaryReport, stream: TextIO, options: RenderOptions) -> None:
    """One row per sample (its mean over labels for multi-label input), then the summary and, per label, a line."""
    from rich.table import Table

    shape = report.inputs.shape
    samples = shape[0] if shape else 1
    per_sample = report.losses.reshape(samples, -1)
    targets = report.inputs.targets.reshape(samples, -1)
    one = per_sample.shape[1] == 1
    table = Table()
    table.add_column(options.index_header, justify="right", no_wrap=True)
    table.add_column("target" if one else "n positive labels", justify="right", no_wrap=True)
    table.add_column("loss" if one else "mean loss over labels", justify="right", no_wrap=True)

    positions = shown(samples, options.max_rows)
    with np.errstate(invalid="ignore", over="ignore"):
        means = np.mean(per_sample, axis=1)
    spell_target = column_format(targets[positions, 0]) if one else str
    spell_loss = column_format(means[positions])  # one format per column, from the rows shown

    def add(position: int) -> None:
        target = spell_target(targets[position, 0]) if one else str(int(np.count_nonzero(targets[position] >= 0.5)))
        table.add_row(options.sample_text(position, (samples,)), target, spell_loss(means[position]))

    add_sample_rows(table, samples, options.max_rows, add)
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column(justify="right", no_wrap=True)
    summary.add_row("elements", str(report.inputs.num_elements))
    summary.add_row("positives (target >= 0.5)", str(report.inputs.positives))
    for name, given in (("pos_weight", report.inputs.pos_weight), ("weight", report.inputs.weight)):
        if given is not None:  # applied: say so, as the values read
            summary.add_row(name, _echo(np.asarray(given).reshape(samples, -1)))
    if report.clip is not None:
        summary.add_row("probabilities clipped to", f"[{report.clip:.6g}, 1 - {report.clip:.6g}]")
    summary.add_row("mean", format_number(report.mean))
    summary.add_row("sum", format_number(report.sum))
    accuracy = report.accuracy
    threshold = "logit > 0" if report.threshold == 0.0 else "p > 0.5"
    summary.add_row(f"accuracy ({threshold})", "-" if math.isnan(accuracy) else f"{accuracy:.2%}")
    labels = report.per_label(single=report.by_label)
    lines = []
    for label in sorted(labels, key=_by_share) if report.by_label else labels:
        share = "" if not report.by_label else f", {label.loss_share:.2%} of the loss"
        lines.append(
            f"label {label.label}: {label.positives} positives, mean {short_number(label.mean_loss)}{share}, "
            f"accuracy {label.accuracy:.2%}"
        )
    console = make_console(stream)
    if samples and options.max_rows > 0:
        console.print(f"{report.formula.name}, binary: loss per sample")
        console.print(table)
    console.print(summary)
    for line in lines:  # under the summary, so that its columns stay narrow
        console.print(line)


def _echo(values: np.ndarray) -> str:
    """The weights as given: one value, one per label (the first row's), or their range per element."""
    if np.all(values == values.flat[0]):
        return f"{float(values.flat[0]):.6g} for every element"
    if np.all(values == values[:1]):
        shown = ", ".join(f"{float(v):.6g}" for v in values[0][:8]) + (", ..." if values.shape[1] > 8 else "")
        return f"per label: {shown}"
    return f"per element, {float(np.min(values)):.6g} to {float(np.max(values)):.6g}"


WRITERS: Mapping[str, Writer[BinaryReport]] = {
    "table": write_table,
    "json": write_json,
    "csv": write_csv,
    "tsv": write_tsv,
}


# --output: the per-element losses in the input's shape.
LOSSES_FILE_ENCODERS = losses_file_encoders(lambda report: report.losses, write_csv, write_tsv)


def derivation_json(d: BinaryDerivation) -> dict[str, Any]:
    """Every intermediate value, keyed by the derivation's attribute names, in their order."""
    out: dict[str, Any] = {"task": "binary"}
    for name in records.fields(d):
        value = getattr(d, name)
        out[name] = list(value) if isinstance(value, tuple) else (None if value is None else json_number(value))
    return out


def write_derivation_json(d: BinaryDerivation, stream: TextIO, options: RenderOptions) -> None:
    write_json_line(derivation_json(d), stream)


def _n(value: float) -> str:
    return f"{value:.10g}" if math.isfinite(value) else format_number(value)


def write_derivation_text(d: BinaryDerivation, stream: TextIO, options: RenderOptions) -> None:
    """One element's loss worked as on paper: the sigmoid, the stable softplus form, the terms, the gradient."""
    from rich.table import Table

    console = make_console(stream)
    console.print(
        f"element {index_text(d.element)}{options.named(d.element)}: logit x = {_n(d.logit)}, target t = {_n(d.target)}"
    )
    steps = Table(title="steps", title_justify="left", show_header=False)
    steps.add_column()
    steps.add_column()
    pw, t, w = _n(d.pos_weight), _n(d.target), _n(d.weight)
    rows = [
        ("sigmoid(x) = 1 / (1 + exp(-x))", _n(d.sigmoid)),
        ("softplus(-x) = max(-x, 0) + log1p(exp(-|x|)) = -log sigmoid(x)", _n(d.softplus_minus_x)),
        ("softplus(x) = max(x, 0) + log1p(exp(-|x|)) = -log(1 - sigmoid(x))", _n(d.softplus_x)),
        (f"pw · t · softplus(-x) = {pw} · {t} · {_n(d.softplus_minus_x)}", _n(d.positive_term)),
        (f"(1 - t) · softplus(x) = {_n(1 - d.target)} · {_n(d.softplus_x)}", _n(d.negative_term)),
        (f"loss = w · (sum) = {w} · ({_n(d.positive_term)} + {_n(d.negative_term)})", format_number(d.loss)),
        ("d loss / d x = w · ((1 - t + pw · t) · sigmoid(x) - pw · t)", _n(d.gradient)),
    ]
    for formula, value in rows:
        steps.add_row(formula, value)
    console.print(steps)
    if d.naive_loss is None:
        console.print(
            f"naive: x = {_n(d.logit)} is no probability, so binary cross-entropy on it is an error, as in PyTorch."
        )
    else:
        console.print(
            f"naive: binary cross-entropy on x taken as a probability gives {_n(d.naive_loss)}; x is a logit, "
            f"whose probability is sigmoid(x) = {_n(d.sigmoid)}."
        )
    if d.unstable_overflows:
        console.print(
            f"exp(|x|) = exp({_n(abs(d.logit))}) is inf in float64 (beyond 709.78), so log(1 + exp(x)) written as such "
            "gives inf or NaN; the stable softplus takes exp only of -|x| <= 0, which is always finite."
        )


EXPLAIN_WRITERS: Mapping[str, Writer[BinaryDerivation]] = {
    "table": write_derivation_text,
    "json": write_derivation_json,
}
