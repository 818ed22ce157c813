"""The writers of a paired comparison (``ce-loss diff``): a short table, strict JSON, per-sample CSV/TSV.

JSON keys (a contract for scripts): ``delta``, ``delta_ci`` ([low, high]), ``delta_se``, ``t_p_value``,
``wins``, ``ties``, ``losses``, ``accuracy`` ({"new", "baseline"}), ``mcnemar_p``, ``top1_agreement``,
``kl`` ({"mean", "p50", "p99", "max"}, ``null`` for a family without one), ``perplexity``
({"new", "baseline"}), ``perplexity_ratio``, ``perplexity_ratio_ci``, ``n_samples``, ``confidence``,
``bootstrap``, ``seed``; besides them ``mean`` ({"new", "baseline"}), ``t_statistic``,
``bootstrap_method``, ``resamples_used``, and ``by_class`` / ``worst`` where asked for.
"""

from __future__ import annotations

import math
from typing import Any, TextIO

import numpy as np

from ce_cli.paired.difference import BOOTSTRAP_METHOD, Difference
from ce_cli.render import RenderOptions, Writer
from ce_cli.render.delimited import index_cells, write_delimited
from ce_cli.render.numbers import json_number, short_number, spelled, write_json_line


def _pair(values: tuple[float, float]) -> list[float | str]:
    return [json_number(values[0]), json_number(values[1])]


def _sample_shape(diff: Difference) -> tuple[int, ...]:
    """The shape the flat samples are positions of (the softmax family's: the input without its class axis)."""
    return diff.new.sample_shape


def _position_text(diff: Difference, options: RenderOptions, position: int) -> str:
    return index_cells(options, _sample_shape(diff), position, position + 1)[0]


def diff_json(diff: Difference, options: RenderOptions) -> dict[str, Any]:
    """The JSON object of a comparison (see the module docstring for its keys)."""
    kl = diff.kl
    out: dict[str, Any] = {
        "delta": json_number(diff.delta),
        "delta_ci": _pair(diff.delta_ci),
        "delta_se": json_number(diff.delta_se),
        "t_statistic": json_number(diff.t_statistic),
        "t_p_value": json_number(diff.t_p_value),
        "mean": {"new": json_number(diff.new.mean), "baseline": json_number(diff.baseline.mean)},
        "wins": diff.wins,
        "ties": diff.ties,
        "losses": diff.losses,
        "accuracy": {"new": json_number(diff.accuracy_new), "baseline": json_number(diff.accuracy_baseline)}
        if diff.predictions
        else None,
        "mcnemar_p": json_number(diff.mcnemar_p) if diff.predictions else None,
        "top1_agreement": json_number(diff.top1_agreement) if diff.predictions else None,
        "kl": None if kl is None else {name: json_number(getattr(kl, name)) for name in ("mean", "p50", "p99", "max")},
        "perplexity": {"new": json_number(diff.perplexity_new), "baseline": json_number(diff.perplexity_baseline)},
        "perplexity_ratio": json_number(diff.perplexity_ratio),
        "perplexity_ratio_ci": _pair(diff.perplexity_ratio_ci),
        "n_samples": diff.n_samples,
        "confidence": diff.request.confidence,
        "bootstrap": diff.request.resamples,
        "bootstrap_method": BOOTSTRAP_METHOD,
        "resamples_used": diff.resamples_used,
        "seed": diff.request.seed,
    }
    if diff.request.by_class:
        out["by_class"] = [
            {
                "class": row.group,
                "count": row.count,
                "mean_new": json_number(row.mean_new),
                "mean_baseline": json_number(row.mean_baseline),
                "delta": json_number(row.delta),
            }
            for row in diff.by_class
        ]
    if diff.request.worst:
        out["worst"] = [
            {
                options.index_header: _position_text(diff, options, row.position),
                "loss_new": json_number(row.loss_new),
                "loss_baseline": json_number(row.loss_baseline),
                "d": json_number(row.d),
            }
            for row in diff.worst
        ]
    return out


def write_json(diff: Difference, stream: TextIO, options: RenderOptions) -> None:
    write_json_line(diff_json(diff, options), stream)


def verdict(diff: Difference) -> str:
    """One sentence: which model is better, by how much, and how sure (lower loss is better)."""
    confidence = f"{100 * diff.request.confidence:g}%"
    if math.isnan(diff.delta):
        return "No verdict: a mean loss is NaN."
    if diff.delta == 0.0:
        head = "NEW and BASELINE have the same mean loss"
    else:
        head = f"NEW is {'better' if diff.delta < 0 else 'worse'} by {short_number(abs(diff.delta))}"
    low, high = diff.delta_ci
    interval = f" ({confidence} CI {short_number(low)} to {short_number(high)})" if not math.isnan(low) else ""
    sure = ""
    if not math.isnan(low) and low <= 0.0 <= high:
        sure = "; the interval holds 0, so the data cannot tell them apart"
    mcnemar = f"; McNemar p = {short_number(diff.mcnemar_p)}" if diff.predictions else ""
    return f"{head}{interval}{sure}; {diff.wins} wins, {diff.losses} losses, {diff.ties} ties{mcnemar}."


def write_table(diff: Difference, stream: TextIO, options: RenderOptions) -> None:
    """Both means, the difference with its interval, where it comes from, and the verdict."""
    from rich.table import Table

    from ce_cli.render.tables import make_console

    confidence = f"{100 * diff.request.confidence:g}%"
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column(justify="right", no_wrap=True)
    grid.add_row("", "NEW", "BASELINE")
    grid.add_row("mean loss", short_number(diff.new.mean), short_number(diff.baseline.mean))
    grid.add_row("perplexity", short_number(diff.perplexity_new), short_number(diff.perplexity_baseline))
    if diff.predictions:
        grid.add_row("accuracy", short_number(diff.accuracy_new), short_number(diff.accuracy_baseline))
    low, high = diff.delta_ci
    rows = [
        ("delta (NEW - BASELINE)", short_number(diff.delta)),
        (f"{confidence} CI", f"{short_number(low)} to {short_number(high)}"),
        ("bootstrap", f"{diff.request.resamples} {BOOTSTRAP_METHOD} resamples, seed {diff.request.seed}"),
        ("standard error", short_number(diff.delta_se)),
        ("paired t-test p", short_number(diff.t_p_value)),
        ("perplexity ratio", short_number(diff.perplexity_ratio)),
        ("wins / ties / losses", f"{diff.wins} / {diff.ties} / {diff.losses}"),
        ("samples", str(diff.n_samples)),
    ]
    if diff.predictions:
        rows[-1:-1] = [
            ("McNemar p (exact)", short_number(diff.mcnemar_p)),
            ("top-1 agreement", short_number(diff.top1_agreement)),
        ]
    if diff.kl is not None:  # KL(BASELINE || NEW) per sample
        kl = diff.kl
        rows.append(("KL(BASELINE||NEW) mean, p50", f"{short_number(kl.mean)}, {short_number(kl.p50)}"))
        rows.append(("KL(BASELINE||NEW) p99, max", f"{short_number(kl.p99)}, {short_number(kl.max)}"))
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column(no_wrap=True)
    for name, value in rows:
        facts.add_row(name, value)
    console = make_console(stream)
    console.print(grid)
    console.print(facts)
    if diff.request.by_class and diff.by_class:
        table = Table(title="by class", title_justify="left")
        for name in ("class", "count", "mean NEW", "mean BASELINE", "delta"):
            table.add_column(name, justify="right", no_wrap=True)
        for group in diff.by_class:
            table.add_row(
                str(group.group),
                str(group.count),
                short_number(group.mean_new),
                short_number(group.mean_baseline),
                short_number(group.delta),
            )
        console.print(table)
    if diff.worst:
        table = Table(title=f"the {len(diff.worst)} largest regressions", title_justify="left")
        for name in (options.index_header, "loss NEW", "loss BASELINE", "d"):
            table.add_column(name, justify="right", no_wrap=True)
        for row in diff.worst:
            table.add_row(
                _position_text(diff, options, row.position),
                short_number(row.loss_new),
                short_number(row.loss_baseline),
                short_number(row.d),
            )
        console.print(table)
    console.print(verdict(diff), highlight=False)


def _delimited(delimiter: str) -> Writer[Difference]:
    def write(diff: Difference, stream: TextIO, options: RenderOptions) -> None:
        """One row per sample: its index (or id), both losses and ``d`` (empty where the sample is not counted)."""
        counted = diff.new.counted & diff.baseline.counted
        shape = _sample_shape(diff)

        def columns(start: int, stop: int) -> list[list[str]]:
            new, base = diff.new.losses[start:stop], diff.baseline.losses[start:stop]
            d = np.where(counted[start:stop], new - base, np.nan)
            d_cells = [cell if keep else "" for cell, keep in zip(spelled(d), counted[start:stop], strict=True)]
            return [index_cells(options, shape, start, stop), spelled(new), spelled(base), d_cells]

        write_delimited(
            stream, delimiter, [options.index_header, "loss_new", "loss_baseline", "d"], len(counted), columns
        )

    return write


WRITERS: dict[str, Writer[Difference]] = {
    "table": write_table,
    "json": write_json,
    "csv": _delimited(","),
    "tsv": _delimited("\t"),
}
