"""A distillation ``compute`` report as one student's per-sample values for ``diff`` (:mod:`ce_cli.paired`)."""

from __future__ import annotations

import numpy as np

from ce_cli.families.distill.report import DistillReport
from ce_cli.paired.samples import PairedSamples


def paired_samples(report: DistillReport) -> PairedSamples:
    """Per-sample distillation losses (each counted sample adds 1 to the denominator), the student's
    predictions, and right/wrong against the targets (or against the teacher's top class without them)."""
    inputs = report.inputs
    predicted, reference = report.predicted, report.reference
    assert predicted is not None  # diff asks compute for the predictions
    assert reference is not None
    return PairedSamples(
        losses=report.losses,
        denominator=report.counted.astype(np.float64),
        counted=report.counted,
        correct=predicted == reference,  # a tie goes to the first class, as argmax
        predicted=predicted,
        group=np.where(report.counted, reference, -1),
        targets=inputs.student.targets if inputs.has_targets else np.zeros(0),
        mean=report.mean,
        input_shape=inputs.student.logits_shape,
        sample_shape=inputs.sample_shape,
    )
