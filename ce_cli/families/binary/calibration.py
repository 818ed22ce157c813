"""The binary family's confidences for calibration (:mod:`ce_cli.calibration`), torchmetrics'
``BinaryCalibrationError`` convention: per element, the confidence is the probability of the positive
class (``sigmoid(x)``, or the probability given) and "right" is the target; the Brier term is
``(y - p)^2`` (scikit-learn's binary ``brier_score_loss``). torchmetrics bins them in the input's own
dtype: float32 for an input of float32 (or narrower), float64 otherwise."""

from __future__ import annotations

import numpy as np

from ce_cli.array_types import Float64Array, IndexArray
from ce_cli.blocks import run_blocks
from ce_cli.calibration.sums import Confidences
from ce_cli.errors import OptionError
from ce_cli.families.binary.inputs import BinaryInputs


def confidences(inputs: BinaryInputs, *, probabilities: bool) -> tuple[Confidences, IndexArray]:
    """Every element's :class:`Confidences` and its flat position.

    Raises:
        OptionError: a target is neither 0 nor 1 (calibration counts hits).
    """
    targets = np.asarray(inputs.targets, dtype=np.float64).reshape(-1)
    soft = np.flatnonzero((targets != 0.0) & (targets != 1.0))
    if len(soft):
        raise OptionError(
            f"--calibration needs 0/1 targets, and element {int(soft[0])} has target {targets[soft[0]]:g}"
        )

    def one_block(start: int, stop: int) -> Float64Array:
        x = np.asarray(inputs.values[start:stop], dtype=np.float64).reshape(-1)
        if probabilities:
            return x
        with np.errstate(over="ignore"):
            # sigmoid without overflow: exp of a non-positive number only
            e = np.exp(-np.abs(x))
            return np.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))

    parts = list(run_blocks(inputs.values, one_block))
    p = np.concatenate(parts) if parts else np.zeros(0)
    narrow = np.dtype(getattr(inputs.values, "dtype", np.float64)).itemsize <= 4
    samples = Confidences(p, targets == 1.0, (targets - p) ** 2, precision=32 if narrow else 64)
    return samples, np.arange(len(p))
