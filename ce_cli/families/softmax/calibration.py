"""The softmax family's confidences for calibration (:mod:`ce_cli.calibration`), read a block at a time.

Per counted sample (index targets): the largest softmax probability of ``x / T`` (max-shifted: the
largest class's probability is ``1 / sum_j exp(z_j - max z)``), or, for a formula that takes
probabilities, the largest probability given; right where that class (the first of a tie, as
``argmax`` and torchmetrics' ``max(dim=1)``) is the target; the Brier term
``sum_c (y_c - p_c)^2 = 1 - 2 p_t + sum_c p_c^2``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ce_cli.array_types import Float64Array, IndexArray
from ce_cli.blocks import chunks, rows_per_chunk, run_blocks
from ce_cli.calibration.sums import Confidences
from ce_cli.errors import OptionError
from ce_cli.families.softmax.inputs import ValidatedInputs


def check_index_targets(inputs: ValidatedInputs, what: str) -> None:
    """Refuse probability targets: calibration and temperature need a class per sample.

    Raises:
        OptionError: the targets are probabilities.
    """
    if inputs.probability_targets:
        raise OptionError(f"{what} needs index targets (a class per sample), not probability targets")


def confidences(
    inputs: ValidatedInputs, *, probabilities: bool, temperature: float = 1.0
) -> tuple[Confidences, IndexArray]:
    """The counted samples' :class:`Confidences` and their flat positions (for the bootstrap's weights)."""
    check_index_targets(inputs, "--calibration")
    targets = np.asarray(inputs.targets).reshape(-1)
    counted = inputs.counted.reshape(-1)

    def one_block(start: int, stop: int) -> tuple[Float64Array, Float64Array, Float64Array]:
        keep = counted[start:stop]
        rows = np.asarray(inputs.rows[start:stop], dtype=np.float64)[keep]
        t = targets[start:stop][keep]
        if probabilities:
            p = rows
        else:
            with np.errstate(invalid="ignore", over="ignore"):
                if temperature == 0.0:  # the limit T -> 0: all the mass on the largest logits
                    z = np.where(rows == np.max(rows, axis=1, keepdims=True), 0.0, -np.inf)
                else:
                    z = rows / temperature if temperature != 1.0 else rows
                e = np.exp(z - np.max(z, axis=1, keepdims=True))
                p = e / np.sum(e, axis=1, keepdims=True)
        predicted = np.argmax(p, axis=1)
        at = np.arange(len(t))
        confidence = p[at, predicted]
        right = (predicted == t).astype(np.float64)
        brier = 1.0 - 2.0 * p[at, t] + np.sum(p * p, axis=1)
        return confidence, right, brier

    parts = list(run_blocks(inputs.rows, one_block))
    joined = [np.concatenate([part[k] for part in parts]) if parts else np.zeros(0) for k in range(3)]
    samples = Confidences(joined[0], joined[1] > 0.5, joined[2], halve_brier=inputs.num_classes < 3)
    return samples, np.flatnonzero(counted)


def logit_blocks(inputs: ValidatedInputs) -> Iterator[tuple[Float64Array, IndexArray]]:
    """The counted samples' float64 logits and targets, a block at a time (for :func:`fit_temperature`)."""
    check_index_targets(inputs, "--fit-temperature")
    targets = np.asarray(inputs.targets).reshape(-1)
    counted = inputs.counted.reshape(-1)
    for start, stop in chunks(inputs.num_samples, rows_per_chunk(inputs.num_classes)):
        keep = counted[start:stop]
        rows = np.asarray(inputs.rows[start:stop], dtype=np.float64)[keep]
        yield rows, targets[start:stop][keep].astype(np.intp)
