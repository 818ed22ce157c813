"""The softmax family's statistics as accumulators that merge (:mod:`ce_cli.accumulators`), and the JSON
of a pooled whole."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ce_cli import __version__
from ce_cli.accumulators import ExactSum, LossStats, class_sums
from ce_cli.blocks import chunks
from ce_cli.families.softmax.report import Report, exp_or_inf
from ce_cli.families.softmax.summary import mean_bits, sample_denominators
from ce_cli.render.numbers import json_number

BLOCK = 1 << 20  # samples per update: the accumulators see the losses a block at a time, as shards would


def accumulate(report: Report) -> LossStats:
    """A report's mergeable statistics, gathered block by block (``update``) and merged."""
    inputs, losses, request = report.inputs, report.losses, report.request
    weight = None if inputs.weight is None else [float(w) for w in inputs.weight]
    meta: dict[str, Any] = {
        "family": "multiclass",
        "formula": report.formula.name,
        "reduction": report.reduction,
        "num_classes": inputs.num_classes,
        "weight": weight,
        "ignore_index": inputs.ignore_index,
        "label_smoothing": inputs.label_smoothing,
        "eps": report.clip,
        "ce_loss": __version__,
    }
    per_sample = losses.per_sample.reshape(-1)
    counted = inputs.counted
    denominators = sample_denominators(report)
    right = losses.target_is_max.reshape(-1)
    targets = losses.target_class.reshape(-1)
    ranks = None if losses.ranks is None else losses.ranks.reshape(-1)
    predicted = losses.predicted.reshape(-1) if request.by_class and losses.predicted is not None else None
    total = LossStats(meta, top_k=dict.fromkeys(request.top_k, 0) if request.top_k else None)
    total.classes = {} if predicted is not None else None
    for start, stop in chunks(report.n_samples, BLOCK):
        block = slice(start, stop)
        mask = counted[block]
        part = LossStats(
            meta,
            samples=stop - start,
            ignored=int(np.count_nonzero(~mask)),
            counted=int(np.count_nonzero(mask)),
            hits=int(np.count_nonzero(right[block] & mask)),
            numerator=ExactSum().update(per_sample[block]),
            denominator=ExactSum().update(denominators[block]),
            top_k=None if ranks is None else {k: int(np.count_nonzero(ranks[block][mask] <= k)) for k in request.top_k},
        )
        if predicted is not None:
            t = targets[block][mask]
            part.classes = class_sums(t, per_sample[block][mask], predicted[block][mask] == t)
        total = total.merge(part)
    return total


def pooled_json(stats: LossStats) -> dict[str, Any]:
    """The keys of ``compute -f json`` that a merged state gives exactly."""
    mean, total, value = stats.headline()
    out: dict[str, Any] = {
        "formula": stats.meta["formula"],
        "reduction": stats.meta["reduction"],
        "task": "multiclass",
        "mean": json_number(mean),
        "sum": json_number(total),
        "value": json_number(value),
        "n_samples": stats.samples,
        "n_ignored": stats.ignored,
        "num_classes": stats.meta["num_classes"],
        "eps": stats.meta["eps"],
        "denominator": json_number(stats.denominator.value()),
        "perplexity": json_number(exp_or_inf(mean)),
        "accuracy": json_number(stats.accuracy),
        "numerator": json_number(total),
        "mean_bits": json_number(mean_bits(mean)),
    }
    if stats.top_k is not None:
        counted = stats.counted
        out["top_k_accuracy"] = {
            str(k): json_number(v / counted if counted else math.nan) for k, v in stats.top_k.items()
        }
    if stats.classes is not None:
        rows = []
        for c, sums in stats.classes.items():
            loss = sums.loss.value()
            share = loss / total if total else math.nan
            rows.append((c, sums.count, loss / sums.count, share, sums.hits / sums.count))
        rows.sort(key=lambda r: (-(r[3] if not math.isnan(r[3]) else -math.inf), r[0]))
        out["by_class"] = [
            {
                "class": c,
                "count": n,
                "mean_loss": json_number(m),
                "loss_share": json_number(s),
                "accuracy": json_number(a),
            }
            for c, n, m, s, a in rows
        ]
    return out
