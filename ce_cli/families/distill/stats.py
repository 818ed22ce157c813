"""The distillation family's mergeable statistics (``compute -f json``'s ``state``, merged by ``pool``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ce_cli import __version__
from ce_cli.accumulators import ExactSum, LossStats
from ce_cli.blocks import chunks
from ce_cli.families.distill.report import DistillReport
from ce_cli.render.numbers import json_number

BLOCK = 1 << 20


def accumulate(report: DistillReport) -> LossStats:
    """The sums of the losses over the counted samples and their count, a block at a time."""
    options = report.inputs.options
    meta: dict[str, Any] = {
        "family": "distill",
        "reduction": report.reduction,
        "temperature": options.temperature,
        "alpha": options.alpha,
        "divergence": options.divergence,
        "teacher_form": options.teacher_form,
        "sparse_teacher": options.sparse,
        "ignore_index": options.ignore_index,
        "ce_loss": __version__,
    }
    total = LossStats(meta)
    for start, stop in chunks(report.n_samples, BLOCK):
        mask = report.counted[start:stop]
        counted = int(np.count_nonzero(mask))
        total = total.merge(
            LossStats(
                meta,
                samples=stop - start,
                ignored=stop - start - counted,
                counted=counted,
                numerator=ExactSum().update(report.losses[start:stop]),
                denominator=ExactSum().update(np.ones(counted)),
            )
        )
    return total


def pooled_json(stats: LossStats) -> dict[str, Any]:
    """The keys of ``compute --task distill -f json`` that a merged state gives exactly."""
    mean, total, value = stats.headline()
    meta = stats.meta
    return {
        "task": "distill",
        "reduction": meta["reduction"],
        "temperature": meta["temperature"],
        "alpha": meta["alpha"],
        "divergence": meta["divergence"],
        "mean": json_number(mean),
        "sum": json_number(total),
        "value": json_number(value),
        "n_samples": stats.samples,
        "n_ignored": stats.ignored,
        "numerator": json_number(total),
        "denominator": stats.counted,
    }
