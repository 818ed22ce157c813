"""A binary ``compute`` report as one model's per-element values for ``diff`` (:mod:`ce_cli.paired`)."""

from __future__ import annotations

import numpy as np

from ce_cli.families.binary.report import BinaryReport
from ce_cli.paired.samples import PairedSamples


def paired_samples(report: BinaryReport) -> PairedSamples:
    """Per-element losses (each adds 1 to the mean's denominator, as PyTorch's mean over every element),
    the prediction at the threshold, and the label (index of axis 1) as the ``--by-class`` key."""
    shape = report.inputs.shape
    size = report.losses.size
    correct = report.correct.reshape(-1)
    positive_target = report.inputs.targets.reshape(-1) >= 0.5
    inner = int(np.prod(shape[2:])) if len(shape) >= 2 else 1
    labels = np.arange(size) // inner % shape[1] if len(shape) >= 2 else np.zeros(size, dtype=np.int64)
    return PairedSamples(
        losses=report.losses.reshape(-1),
        denominator=np.ones(size),
        counted=np.ones(size, dtype=bool),
        correct=correct,
        predicted=(positive_target == correct).astype(np.int64),
        group=labels.astype(np.int64),
        targets=report.inputs.targets,
        mean=report.mean,
        input_shape=shape,
        sample_shape=shape,
    )
