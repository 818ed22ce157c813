"""A softmax ``compute`` report as one model's per-sample values for ``diff`` (:mod:`ce_cli.paired`)."""

from __future__ import annotations

import numpy as np

from ce_cli.families.softmax.report import Report
from ce_cli.paired.samples import PairedSamples


def paired_samples(report: Report) -> PairedSamples:
    """Per-sample losses and what each adds to the mean's denominator (``w[t]``, 1 for probability
    targets, 0 where ignored; :mod:`ce_cli.families.softmax.weighting`), with the predictions."""
    inputs, losses = report.inputs, report.losses
    counted = inputs.counted
    target_class = losses.target_class.reshape(-1)
    if inputs.probability_targets:
        denominator = np.ones(inputs.num_samples)
    elif inputs.weight is None:
        denominator = counted.astype(np.float64)
    else:
        denominator = np.where(counted, inputs.weight[np.where(counted, target_class, 0)], 0.0)
    return PairedSamples(
        losses=losses.per_sample.reshape(-1),
        denominator=denominator,
        counted=counted,
        correct=losses.target_is_max.reshape(-1),
        predicted=report.predicted.reshape(-1),
        group=np.where(counted, target_class, -1),
        targets=inputs.targets,
        mean=losses.mean,
        input_shape=inputs.logits_shape,
        sample_shape=inputs.sample_shape,
    )
