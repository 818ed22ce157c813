"""The binary family's statistics as accumulators that merge (:mod:`ce_cli.accumulators`), and the JSON
of a pooled whole."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ce_cli import __version__
from ce_cli.accumulators import ExactSum, LossStats, class_sums
from ce_cli.blocks import chunks
from ce_cli.families.binary.report import BinaryReport
from ce_cli.render.numbers import json_number

BLOCK = 1 << 20  # rows per update


def accumulate(report: BinaryReport) -> LossStats:
    """A report's mergeable statistics, per element and per label (axis 1), gathered a block of rows at a time."""
    shape = report.inputs.shape
    pos_weight = report.inputs.pos_weight
    meta: dict[str, Any] = {
        "family": "binary",
        "formula": report.formula.name,
        "reduction": report.reduction,
        "labels": list(shape[1:]),
        "threshold": report.threshold,
        "eps": report.clip,
        "ce_loss": __version__,
        "pos_weight": None if pos_weight is None else pos_weight.reshape(shape)[(0,) * len(shape)].tolist(),
    }
    rows = shape[0] if shape else 1
    losses = report.losses.reshape(rows, -1)
    correct = report.correct.reshape(rows, -1)
    positive = (report.inputs.targets.reshape(rows, -1) >= 0.5).astype(np.float64)
    per_row = losses.shape[1]
    label_of = np.broadcast_to(_labels(shape), (rows, per_row))
    total = LossStats(meta, classes={})
    for start, stop in chunks(rows, max(1, BLOCK // max(1, per_row))):
        block = slice(start, stop)
        part = LossStats(
            meta,
            samples=losses[block].size,
            counted=losses[block].size,
            hits=int(np.count_nonzero(correct[block])),
            numerator=ExactSum().update(losses[block]),
            denominator=ExactSum().update(np.ones(losses[block].size)),
            classes=class_sums(
                label_of[block].reshape(-1),
                losses[block].reshape(-1),
                correct[block].reshape(-1),
                positive[block].reshape(-1),
            ),
        )
        total = total.merge(part)
    return total


def _labels(shape: tuple[int, ...]) -> np.ndarray:
    """Each element's label (its index on axis 1; 0 for ``(N,)``), for one row of ``shape``."""
    if len(shape) < 2:
        return np.zeros(1, dtype=np.int64)
    return np.broadcast_to(np.arange(shape[1]).reshape(shape[1], *([1] * (len(shape) - 2))), shape[1:]).reshape(-1)


def pooled_json(stats: LossStats) -> dict[str, Any]:
    """The keys of ``compute --task binary -f json`` that a merged state gives exactly."""
    mean, total, value = stats.headline()
    positives = sum(s.positives for s in (stats.classes or {}).values())
    out: dict[str, Any] = {
        "formula": stats.meta["formula"],
        "reduction": stats.meta["reduction"],
        "task": "binary",
        "mean": json_number(mean),
        "sum": json_number(total),
        "value": json_number(value),
        "n_elements": stats.samples,
        "positives": positives,
        "threshold": stats.meta["threshold"],
        "accuracy": json_number(stats.accuracy),
        "eps": stats.meta["eps"],
        "numerator": json_number(total),
        "denominator": stats.samples,
    }
    if stats.meta["labels"] and stats.classes is not None:
        out["per_label"] = [
            {
                "label": label,
                "positives": sums.positives,
                "mean_loss": json_number(sums.loss.value() / sums.count if sums.count else math.nan),
                "loss_share": json_number(sums.loss.value() / total if total else math.nan),
                "accuracy": json_number(sums.hits / sums.count if sums.count else math.nan),
            }
            for label, sums in sorted(stats.classes.items())
        ]
    return out
