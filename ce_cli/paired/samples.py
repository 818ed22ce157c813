"""What one model gives per sample for a paired comparison, flat over the samples. Pure numpy."""

from __future__ import annotations

import numpy as np

from ce_cli.array_types import BoolArray, Float64Array, IndexArray
from ce_cli.errors import InputError, ShapeError
from ce_cli.records import frozen


@frozen
class PairedSamples:
    """One model's per-sample values, each ``(M,)`` over the flat samples (elements, for ``--task binary``).

    Attributes:
        losses: each sample's loss as ``compute`` gives it (weighted; 0 where not counted).
        denominator: what each sample adds to the mean's denominator (``w[t]``, 1, or 0 where ignored),
            so that ``mean = sum(losses) / sum(denominator)``.
        counted: whether the sample counts (its target is not the ignore index).
        correct: whether the model's prediction is right, as ``compute``'s accuracy counts it (``None``: no
            prediction is known, as for per-token log-probabilities).
        predicted: the predicted class (binary: 1 above the threshold, else 0), or ``None``.
        group: the ``--by-class`` key: the target class, or the label (index of axis 1) for binary.
        targets: the targets as validated, to check that both models were scored on the same ones.
        mean: the model's mean loss exactly as ``compute`` reports it.
        input_shape: the shape of the model's input, as read.
        sample_shape: the shape of the per-sample losses (``compute``'s), of which the flat samples are positions.
    """

    losses: Float64Array
    denominator: Float64Array
    counted: BoolArray
    correct: BoolArray | None
    predicted: IndexArray | None
    group: IndexArray
    targets: np.ndarray
    mean: float
    input_shape: tuple[int, ...]
    sample_shape: tuple[int, ...]


def check_pairs(new: PairedSamples, baseline: PairedSamples, names: tuple[str, str]) -> None:
    """Refuse two models that were not scored on the same samples and targets.

    Raises:
        ShapeError: the inputs' shapes differ (the message names both).
        InputError: the targets differ (read from each file's own column).
    """
    if new.input_shape != baseline.input_shape:
        raise ShapeError(
            f"{names[0]} has shape {new.input_shape} and {names[1]} has shape {baseline.input_shape}; "
            "a paired comparison needs both models' outputs for the same samples, in the same shape"
        )
    if new.targets.shape != baseline.targets.shape or not np.array_equal(new.targets, baseline.targets):
        flat_new, flat_base = new.targets.reshape(len(new.losses), -1), baseline.targets.reshape(len(new.losses), -1)
        differ = np.flatnonzero(np.any(flat_new != flat_base, axis=1))
        where = f" (first at sample {int(differ[0])})" if len(differ) else ""
        raise InputError(
            f"the targets read with {names[0]} and with {names[1]} differ{where}; both models must be scored "
            "on the same targets (give them once with --targets)"
        )
