"""The evaluation summary (:mod:`ce_cli.families.softmax.summary`) in JSON and in the table's sections."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ce_cli.families.softmax import summary
from ce_cli.families.softmax.report import Report
from ce_cli.render.numbers import json_number, short_number

if TYPE_CHECKING:
    from rich.table import Table

    from ce_cli.io.provenance import SampleNames


def json_index(position: int, sample_shape: tuple[int, ...]) -> int | list[int]:
    """A sample's index for JSON: an int for 1-D samples, a list for K-dimensional ones."""
    if len(sample_shape) <= 1:
        return position
    return [int(i) for i in np.unravel_index(position, sample_shape)]


def summary_json(report: Report, names: SampleNames | None = None) -> dict[str, Any]:
    """The summary's JSON keys: always ``numerator``, ``mean_bits``, ``quantiles``; the rest on request
    (``worst`` entries carry the sample's ``id`` where ``names`` names the samples)."""
    out: dict[str, Any] = {
        "numerator": json_number(report.losses.sum),
        "mean_bits": json_number(summary.mean_bits(report.losses.mean)),
        "quantiles": {k: json_number(v) for k, v in summary.quantiles(summary.counted_losses(report)).items()},
    }
    request = report.request
    if request.by_class:
        out["by_class"] = [
            {
                "class": c.cls,
                "count": c.count,
                "mean_loss": json_number(c.mean_loss),
                "loss_share": json_number(c.loss_share),
                "accuracy": json_number(c.accuracy),
            }
            for c in summary.by_class(report)
        ]
    if request.top_k:
        out["top_k_accuracy"] = {k: json_number(v) for k, v in summary.top_k_accuracy(report, request.top_k).items()}
        out["ranks"] = ranks_json(report)
    if request.worst:
        target = report.losses.target_class.reshape(-1)
        losses = report.losses.per_sample.reshape(-1)
        shape = report.inputs.sample_shape
        out["worst"] = [
            {
                "index": json_index(p, shape),
                **({} if names is None else {"id": names(int(np.unravel_index(p, shape)[0]) if shape else 0)}),
                "target": int(target[p]),
                "loss": json_number(losses[p]),
            }
            for p in summary.worst(report, request.worst)
        ]
    if request.per_sequence:
        sequences = summary.per_sequence(report)
        out["per_sequence"] = [
            {
                "sequence": s.index,
                "mean_loss": json_number(s.mean_loss),
                "perplexity": json_number(s.perplexity),
                "tokens": s.tokens,
                "denominator": json_number(s.denominator),
            }
            for s in sequences
        ]
        out["mean_sequence_perplexity"] = json_number(summary.mean_of_perplexities(sequences))
    return out


def ranks_json(report: Report) -> Any:
    """The ranks in the sample shape, ``null`` where the target is ignored."""
    assert report.losses.ranks is not None  # top-k was asked for
    spelled = report.losses.ranks.reshape(-1).astype(object)
    spelled[~report.inputs.counted] = None
    return spelled.reshape(report.inputs.sample_shape).tolist()


def denominator_sentence(report: Report) -> str:
    """What the mean divided by, and why, in one sentence."""
    inputs, losses = report.inputs, report.losses
    ignored = report.n_ignored
    if inputs.probability_targets:
        why = f"N = {report.n_samples} samples (probability targets: PyTorch's mean divides by N, even with weights)"
    elif inputs.weight is not None:
        why = f"the weight sum of the counted targets, sum w[target] = {short_number(losses.denominator)}"
    else:
        why = f"the {report.n_samples - ignored} counted samples"
    if ignored:
        why += f"; {ignored} with the ignore index {inputs.ignore_index} add nothing to either side"
    return f"mean = sum / denominator: divided by {why}"


def add_summary_rows(grid: Table, report: Report) -> None:
    """The denominator, the mean in bits and the top-k accuracies: rows of the summary grid."""
    if report.inputs.weight is None:
        grid.add_row("denominator", short_number(report.losses.denominator))
    grid.add_row("mean in bits (mean / ln 2)", short_number(summary.mean_bits(report.losses.mean)))
    for k, accuracy in summary.top_k_accuracy(report, report.request.top_k).items() if report.request.top_k else ():
        grid.add_row(f"top-{k} accuracy", "-" if math.isnan(accuracy) else f"{accuracy:.2%}")


def distribution_lines(report: Report, width: int) -> list[str]:
    """The loss quantiles over the counted samples (on two aligned lines where one would pass ``width``, so
    that no number is parted from its name), and a histogram between their min and max."""
    values = summary.counted_losses(report)
    if values.size == 0:
        return []
    found = summary.quantiles(values)
    pairs = [f"{k} {short_number(v)}" for k, v in found.items()]
    lines = ["loss quantiles: " + "  ".join(pairs)]
    if len(lines[0]) > width:
        lines = ["loss quantiles: " + "  ".join(pairs[:3]), " " * len("loss quantiles: ") + "  ".join(pairs[3:])]
    drawn = summary.histogram(values)
    if drawn:
        lines.append(f"histogram:      {short_number(found['min'])} |{drawn}| {short_number(found['max'])}")
    return lines


def by_class_table(report: Report, max_rows: int) -> Table:
    """One row per counted class by decreasing share of the loss; the middle elided past ``max_rows``."""
    from rich.table import Table

    from ce_cli.render.tables import add_sample_rows

    rows = summary.by_class(report)
    table = Table(title="loss by class (largest share first)", title_justify="left")
    for name in ("class", "count", "mean loss", "share of loss", "accuracy"):
        table.add_column(name, justify="right", no_wrap=True)

    def add(position: int) -> None:
        c = rows[position]
        share = "-" if math.isnan(c.loss_share) else f"{c.loss_share:.2%}"
        table.add_row(str(c.cls), str(c.count), short_number(c.mean_loss), share, f"{c.accuracy:.2%}")

    add_sample_rows(table, len(rows), max(max_rows, 1), add)
    return table


def per_sequence_table(report: Report, max_rows: int) -> tuple[Table, str]:
    """One row per sequence, and the sentence contrasting the two ways to average perplexity."""
    from rich.table import Table

    from ce_cli.render.tables import add_sample_rows

    sequences = summary.per_sequence(report)
    table = Table(title="per sequence", title_justify="left")
    for name in ("sequence", "tokens", "mean loss", "perplexity"):
        table.add_column(name, justify="right", no_wrap=True)

    def add(position: int) -> None:
        s = sequences[position]
        table.add_row(str(s.index), str(s.tokens), short_number(s.mean_loss), short_number(s.perplexity))

    add_sample_rows(table, len(sequences), max(max_rows, 1), add)
    averaged = summary.mean_of_perplexities(sequences)
    sentence = (
        f"pooled perplexity exp(sum of losses / sum of denominators) = {short_number(report.perplexity)}; "
        f"mean of the per-sequence perplexities = {short_number(averaged)}. "
        "Papers usually report the pooled one (corpus-level, every token weighs the same)."
    )
    return table, sentence
