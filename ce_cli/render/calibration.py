"""The calibration's writers: its JSON keys and the reliability table.

JSON (a contract for scripts): ``calibration: {ece, rmsce, mce, brier, n_bins, binning, n_samples,
bins: [{low, high, count, confidence, accuracy}]}``, with ``ece_ci`` ([low, high], 95%),
``bootstrap``, ``bootstrap_method`` and ``seed`` where ``--bootstrap`` asked for an interval; and
``temperature: {value, loss_before, loss_after, ece_before, ece_after}``.
"""

from __future__ import annotations

from typing import Any, TextIO

from ce_cli.calibration.metrics import Calibration
from ce_cli.calibration.outcome import CalibrationOutcome
from ce_cli.paired.difference import BOOTSTRAP_METHOD
from ce_cli.render.numbers import json_number, short_number
from ce_cli.render.tables import make_console

BAR_WIDTH = 12  # a gap of 0.5 (or more) fills the bar


def calibration_json(calibration: Calibration) -> dict[str, Any]:
    """The ``calibration`` object (see the module docstring)."""
    out: dict[str, Any] = {
        "ece": json_number(calibration.ece),
        "rmsce": json_number(calibration.rmsce),
        "mce": json_number(calibration.mce),
        "brier": json_number(calibration.brier),
        "n_bins": calibration.sums.n_bins,
        "binning": calibration.sums.binning,
        "n_samples": calibration.n_samples,
        "bins": [
            {
                "low": json_number(row.low),
                "high": json_number(row.high),
                "count": row.count,
                "confidence": json_number(row.confidence),
                "accuracy": json_number(row.accuracy),
            }
            for row in calibration.rows()
        ],
    }
    if calibration.ece_ci is not None:
        out["ece_ci"] = [json_number(calibration.ece_ci[0]), json_number(calibration.ece_ci[1])]
        out["bootstrap"] = calibration.resamples
        out["bootstrap_method"] = BOOTSTRAP_METHOD
        out["seed"] = calibration.seed
    return out


def outcome_json(outcome: CalibrationOutcome) -> dict[str, Any]:
    """The ``calibration`` and ``temperature`` keys that ``compute -f json`` adds."""
    out: dict[str, Any] = {}
    if outcome.calibration is not None:
        out["calibration"] = calibration_json(outcome.calibration)
    if outcome.temperature is not None:
        fitted = outcome.temperature
        out["temperature"] = {
            "value": json_number(fitted.fit.value),
            "loss_before": json_number(fitted.fit.loss_before),
            "loss_after": json_number(fitted.fit.loss_after),
            "ece_before": json_number(fitted.ece_before),
            "ece_after": json_number(fitted.ece_after),
        }
    return out


def gap_bar(gap: float) -> str:
    """``|gap|`` as a bar of █ (one per 1/24), after ``-`` where the model is over-confident (gap < 0)."""
    if gap != gap:
        return "?"
    cells = min(BAR_WIDTH, round(abs(gap) * 2 * BAR_WIDTH))
    return ("-" if gap < 0 else "+") + "█" * cells if cells else ""


def write_table(outcome: CalibrationOutcome, stream: TextIO) -> None:
    """The headline statistics, the reliability table (one row per non-empty bin) and the temperature."""
    from rich.table import Table

    console = make_console(stream)
    calibration = outcome.calibration
    if calibration is not None:
        sums = calibration.sums
        interval = ""
        if calibration.ece_ci is not None:
            low, high = calibration.ece_ci
            interval = f" (95% CI {short_number(low)} to {short_number(high)})"
        console.print(
            f"calibration: {calibration.n_samples} samples in {sums.n_bins} {sums.binning} bins\n"
            f"ECE {short_number(calibration.ece)}{interval}  RMSCE {short_number(calibration.rmsce)}  "
            f"MCE {short_number(calibration.mce)}  Brier {short_number(calibration.brier)}"
        )
        table = Table(title="reliability (gap = accuracy - confidence; - over-confident)", title_justify="left")
        for name in ("bin", "count", "confidence", "accuracy", "gap"):
            table.add_column(name, justify="left" if name == "bin" else "right", no_wrap=True)
        table.add_column("", no_wrap=True)
        for row in calibration.rows():
            last = row.high == sums.edges[-1] and sums.binning == "quantile"  # the quantile bins' last is closed
            closed = "]" if last or row.low == row.high else ")"
            table.add_row(
                f"[{row.low:.3f}, {row.high:.3f}{closed}",
                str(row.count),
                f"{row.confidence:.4f}",
                f"{row.accuracy:.4f}",
                f"{row.gap:+.4f}",
                gap_bar(row.gap),
            )
        console.print(table)
    if outcome.temperature is not None:
        fitted = outcome.temperature
        console.print(
            f"temperature T = {short_number(fitted.fit.value)}: NLL {short_number(fitted.fit.loss_before)} -> "
            f"{short_number(fitted.fit.loss_after)}, ECE {short_number(fitted.ece_before)} -> "
            f"{short_number(fitted.ece_after)}"
        )
