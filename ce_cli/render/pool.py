"""A pooled result (``ce-loss pool``) as a table: its keys that merged, and what was left out."""

from __future__ import annotations

from typing import Any, TextIO

from ce_cli.render.tables import make_console


def write_table(pooled: dict[str, Any], stream: TextIO) -> None:
    """The pooled result's numbers, one per row, then per class or label where pooled, then what was not."""
    from rich.table import Table

    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column(justify="right", no_wrap=True)
    for key, value in pooled.items():
        if key in ("by_class", "per_label", "state", "not_pooled", "top_k_accuracy", "calibration"):
            continue
        summary.add_row(key, str(value))
    for k, value in pooled.get("top_k_accuracy", {}).items():
        summary.add_row(f"top-{k} accuracy", str(value))
    console = make_console(stream)
    console.print(summary)
    rows = pooled.get("by_class") or pooled.get("per_label")
    if rows:
        table = Table(title="by class" if "by_class" in pooled else "per label", title_justify="left")
        for name in rows[0]:
            table.add_column(name, justify="right", no_wrap=True)
        for row in rows:
            table.add_row(*(str(v) for v in row.values()))
        console.print(table)
    if "calibration" in pooled:
        calibration = pooled["calibration"]
        console.print(
            f"calibration ({calibration['n_samples']} samples, {calibration['n_bins']} {calibration['binning']} bins): "
            f"ECE {calibration['ece']}, RMSCE {calibration['rmsce']}, MCE {calibration['mce']}, "
            f"Brier {calibration['brier']}"
        )
    console.print(f"not pooled (they need every loss, not sums): {', '.join(pooled['not_pooled'])}")
