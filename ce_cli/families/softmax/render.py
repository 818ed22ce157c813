"""Write a :class:`~ce_cli.families.softmax.report.Report`: table, JSON, CSV/TSV, one number, or a losses file."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, TextIO

import numpy as np

from ce_cli.families.softmax.render_summary import (
    add_summary_rows,
    by_class_table,
    denominator_sentence,
    distribution_lines,
    per_sequence_table,
    summary_json,
)
from ce_cli.families.softmax.report import Report
from ce_cli.families.softmax.summary import worst
from ce_cli.render import DEFAULT_OPTIONS, RenderOptions, Writer, losses_file_encoders, streamed_keys
from ce_cli.render.delimited import index_cells, write_delimited
from ce_cli.render.numbers import (
    column_format,
    format_number,
    json_number,
    json_values,
    short_number,
    spelled,
    write_json_line,
)
from ce_cli.render.tables import add_sample_rows, make_console, shown


def report_json(
    report: Report, options: RenderOptions = DEFAULT_OPTIONS, *, losses_list: bool = True
) -> dict[str, Any]:
    """The JSON object scripts rely on (keys never change meaning; new ones may appear); ``read`` says what
    was read from each source, and ``ids`` names the samples where they have names. Without
    ``losses_list``, ``losses`` and ``ids`` are left ``None`` for :func:`write_json` to stream."""
    inputs, losses = report.inputs, report.losses
    return {
        "formula": report.formula.name,
        "reduction": report.reduction,
        "shape": list(inputs.logits_shape),
        "target_kind": "probabilities" if inputs.probability_targets else "indices",
        "losses": json_values(losses.per_sample) if losses_list else None,
        "mean": json_number(losses.mean),
        "sum": json_number(losses.sum),
        "value": json_number(report.value),
        "n_samples": report.n_samples,
        "n_ignored": report.n_ignored,
        "num_classes": inputs.num_classes,
        "eps": report.clip,
        "denominator": json_number(losses.denominator),
        "perplexity": json_number(report.perplexity),
        "accuracy": json_number(report.accuracy),
        **summary_json(report, options.names),
        **options.json_keys(report.inputs.sample_shape[0] if report.inputs.sample_shape else 1, lists=losses_list),
    }


def write_json(report: Report, stream: TextIO, options: RenderOptions) -> None:
    """One strict-JSON object on one line, its losses written a block at a time."""
    value = report_json(report, options, losses_list=False)
    rows = report.inputs.sample_shape[0] if report.inputs.sample_shape else 1
    write_json_line(value, stream, streamed_keys(options, rows, report.losses.per_sample))


def write_quiet(report: Report, stream: TextIO) -> None:
    """The headline value at full precision; for reduction ``none`` one loss per line."""
    if report.reduction == "none":
        stream.writelines(format_number(v) + "\n" for v in report.losses.per_sample.reshape(-1).tolist())
    else:
        stream.write(format_number(report.value) + "\n")


def _write_delimited(report: Report, stream: TextIO, delimiter: str, options: RenderOptions) -> None:
    """A header row, then ``index`` (or ``id``), ``target, predicted, p_target, loss`` (and ``rank`` with
    top-k) per sample, a block of rows at a time."""
    losses = report.losses
    ranks = None if losses.ranks is None else losses.ranks.reshape(-1)
    header = [options.index_header, "target", "predicted", "p_target", "loss", *(["rank"] if ranks is not None else [])]
    target, predicted = losses.target_class.reshape(-1), report.predicted.reshape(-1)
    per_sample = losses.per_sample.reshape(-1)
    counted, shape = report.inputs.counted, report.inputs.sample_shape

    def columns(start: int, stop: int) -> list[list[str]]:
        with np.errstate(over="ignore", invalid="ignore"):  # report.target_probability, a block at a time
            log_p = losses.target_log_prob_at(slice(start, stop))
            probability = np.where(counted[start:stop], np.exp(log_p), np.nan)
        out = [
            index_cells(options, shape, start, stop),
            list(map(str, target[start:stop].tolist())),
            list(map(str, predicted[start:stop].tolist())),
            spelled(probability),
            spelled(per_sample[start:stop]),
        ]
        if ranks is not None:
            kept = counted[start:stop].tolist()
            out.append([str(r) if c else "" for r, c in zip(ranks[start:stop].tolist(), kept, strict=True)])
        return out

    write_delimited(stream, delimiter, header, len(per_sample), columns)


def write_csv(report: Report, stream: TextIO, options: RenderOptions) -> None:
    """Comma-separated: a header row, then one row per sample."""
    _write_delimited(report, stream, ",", options)


def write_tsv(report: Report, stream: TextIO, options: RenderOptions) -> None:
    """Tab-separated: a header row, then one row per sample."""
    _write_delimited(report, stream, "\t", options)


def write_table(report: Report, stream: TextIO, options: RenderOptions) -> None:
    """A Rich table, one row per sample (at most ``options.max_rows``), then a summary of all samples.

    Longer inputs show their first and last rows around an ellipsis row; the
    summary always covers every sample. Colour follows Rich's rules: none on a
    plain stream, none under ``NO_COLOR``.
    """
    from rich.table import Table

    inputs, losses = report.inputs, report.losses
    target = losses.target_class.reshape(-1)
    predicted = report.predicted.reshape(-1)
    per_sample = losses.per_sample.reshape(-1)
    counted = inputs.counted

    table = Table(title=f"{report.formula.name} loss per sample", title_justify="left")
    table.add_column(options.index_header, justify="right", no_wrap=True)
    table.add_column(
        "target" + (" (argmax of probabilities)" if inputs.probability_targets else ""),
        justify="right",
        no_wrap=True,
        overflow="fold",
    )
    table.add_column("predicted", justify="right", no_wrap=True)
    table.add_column("p(target)", justify="right", no_wrap=True)
    table.add_column("loss", justify="right", no_wrap=True)
    ranks = None if losses.ranks is None else losses.ranks.reshape(-1)
    if ranks is not None:
        table.add_column("rank", justify="right", no_wrap=True)

    positions = [p for p in shown(report.n_samples, options.max_rows) if counted[p]]
    with np.errstate(over="ignore"):  # one format per column, from the rows shown
        spell_probability = column_format(np.exp(losses.target_log_prob_at(positions)))
    spell_loss = column_format(per_sample[positions])

    def add(position: int) -> None:
        index = options.sample_text(position, inputs.sample_shape)
        if not counted[position]:
            ignored = f"{int(target[position])} (ignored)"
            rank = [] if ranks is None else ["-"]
            table.add_row(index, ignored, str(int(predicted[position])), "-", short_number(0.0), *rank)
            return
        probability = float(np.exp(losses.target_log_prob_at(position)))  # log p <= 0: never overflows
        cells = [str(int(target[position])), str(int(predicted[position])), spell_probability(probability)]
        rank = [] if ranks is None else [str(int(ranks[position]))]
        table.add_row(index, *cells, spell_loss(per_sample[position]), *rank)

    if report.request.worst:
        table.title = f"the {report.request.worst} highest {report.formula.name} losses"
        for position in worst(report, report.request.worst):
            add(position)
    else:
        add_sample_rows(table, report.n_samples, options.max_rows, add)

    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column(justify="right", no_wrap=True)
    summary.add_row("samples", str(report.n_samples))
    summary.add_row("classes (C)", str(inputs.num_classes))
    if len(inputs.logits_shape) > 2:
        summary.add_row("logits shape", str(inputs.logits_shape))
    if not inputs.probability_targets:
        summary.add_row("ignored", str(report.n_ignored))
    if inputs.weight is not None:
        summary.add_row("weight sum (mean divides by it)", short_number(losses.denominator))
    if report.clip is not None:
        summary.add_row("probabilities clipped to", f"[{report.clip:.6g}, 1 - {report.clip:.6g}]")
    summary.add_row("mean", format_number(losses.mean))
    summary.add_row("sum", format_number(losses.sum))
    summary.add_row("perplexity exp(mean)", short_number(report.perplexity))
    accuracy = report.accuracy
    summary.add_row("accuracy", "-" if math.isnan(accuracy) else f"{accuracy:.2%}")
    add_summary_rows(summary, report)

    console = make_console(stream)
    if report.n_samples and (options.max_rows > 0 or report.request.worst):
        console.print(table)
    if report.request.by_class and report.n_samples:
        console.print(by_class_table(report, options.max_rows))
    if report.request.per_sequence:
        sequences, sentence = per_sequence_table(report, options.max_rows)
        console.print(sequences)
        console.print(sentence)
    console.print(summary)
    for line in [*distribution_lines(report, console.width), denominator_sentence(report)]:
        console.print(line)


WRITERS: Mapping[str, Writer[Report]] = {"table": write_table, "json": write_json, "csv": write_csv, "tsv": write_tsv}


# --output: the file's suffix chooses its content (.npy: the float64 losses in the sample shape).
LOSSES_FILE_ENCODERS = losses_file_encoders(lambda report: report.losses.per_sample, write_csv, write_tsv)
