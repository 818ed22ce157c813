"""What a binary ``compute`` run found: per-element losses, accuracy at the threshold, per label. Pure numpy.

The elements are evaluated block by block on every core, as the softmax family's
rows are (:mod:`ce_cli.blocks`), so a large file streams in bounded memory.
A prediction is positive where the logit is above 0 (the probability above 0.5,
for a formula that takes probabilities); a target counts as positive from 0.5.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ce_cli.array_types import BoolArray, Float64Array
from ce_cli.blocks import CHUNK_BYTES, NATIVE_CHUNK_BYTES, run_blocks
from ce_cli.data_warnings import DataWarning, NonFiniteLogits, SigmoidGivenProbabilities
from ce_cli.errors import OptionError
from ce_cli.families.binary.forms import check_target_range, logits_losses, probability_losses
from ce_cli.families.binary.inputs import BinaryInputs
from ce_cli.families.softmax.losses import Reduction
from ce_cli.formulas import REGISTRY, FormulaSpec, probability_clip
from ce_cli.native import active as active_kernel
from ce_cli.native_blocks import binary_elements, reads_dtype
from ce_cli.records import frozen


@frozen
class BinaryBlock:
    """One block's element losses and what it showed."""

    losses: Float64Array
    correct: BoolArray
    all_in_unit: bool
    non_finite: int


def binary_block(
    inputs: BinaryInputs, formula: FormulaSpec, clip: float | None, start: int, stop: int, strict: bool = True
) -> BinaryBlock:
    """Evaluate elements ``start:stop`` under ``formula``'s binary form, with numpy.

    The forms are in :mod:`ce_cli.families.binary.forms`.
    """
    x = np.asarray(inputs.values[start:stop], dtype=np.float64).reshape(-1)
    t = np.asarray(inputs.targets[start:stop], dtype=np.float64)
    if not inputs.targets_checked and not (np.min(t, initial=0.0) >= 0.0 and np.max(t, initial=1.0) <= 1.0):
        check_target_range(inputs.targets, inputs.targets_name)  # names the first, whichever block found one
    pw = None if inputs.pos_weight is None else inputs.pos_weight[start:stop]
    if formula.binary == "probabilities":
        losses = probability_losses(x, t, clip, inputs.name, strict=strict)
        predicted = x > 0.5
    else:
        losses = logits_losses(x, t, pw, two_step=formula.binary == "two_step")
        predicted = x > 0.0
    if inputs.weight is not None:
        losses = losses * inputs.weight[start:stop]
    with np.errstate(invalid="ignore"):
        all_in_unit = bool(np.all((x >= 0.0) & (x <= 1.0)))
        non_finite = int(np.count_nonzero(~np.isfinite(x) & ~np.isfinite(losses)))
    return BinaryBlock(losses, predicted == (t >= 0.5), all_in_unit, non_finite)


@frozen
class LabelSummary:
    """One label (an index of axis 1; the one label of ``(N,)`` input): its positives, loss, accuracy.

    ``mean_loss`` is the mean of its element losses (weighted as shown), ``loss_share`` their sum over the
    sum of every element's loss, ``accuracy`` the share of its elements predicted right at the threshold.
    """

    label: int
    positives: int
    mean_loss: float
    loss_share: float
    accuracy: float


@frozen
class BinaryReport:
    """The result of one binary computation; per-element arrays have ``inputs.shape``.

    Attributes:
        inputs: the validated inputs.
        formula: the formula that ran (its binary form).
        reduction: the headline value asked for.
        clip: probabilities were clipped into ``[clip, 1 - clip]`` (``None``: not clipped).
        losses: the per-element losses (weighted).
        correct: whether the prediction at the threshold matches the target.
        warnings: what a user should know about the data.
        by_label: whether the per-label summary (``by_class``) was asked for.
    """

    inputs: BinaryInputs
    formula: FormulaSpec
    reduction: Reduction
    clip: float | None
    losses: Float64Array
    correct: BoolArray
    warnings: tuple[DataWarning, ...]
    by_label: bool = False

    @property
    def per_sample(self) -> Float64Array:
        """The per-element losses (named as the softmax family's results name them)."""
        return self.losses

    @property
    def target_class(self) -> NDArray[np.floating[Any]]:
        """The targets, in the input's shape."""
        return self.inputs.targets.reshape(self.inputs.shape)

    @property
    def sum(self) -> float:
        with np.errstate(invalid="ignore", over="ignore"):
            return float(np.sum(self.losses))

    @property
    def mean(self) -> float:
        """``sum`` over the number of elements, as PyTorch's mean; NaN for no element."""
        return self.sum / self.losses.size if self.losses.size else math.nan

    @property
    def value(self) -> float:
        return self.sum if self.reduction == "sum" else self.mean

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.correct)) if self.correct.size else math.nan

    @property
    def threshold(self) -> float:
        """Where a prediction turns positive: 0 for logits, 0.5 for probabilities."""
        return 0.5 if self.formula.binary == "probabilities" else 0.0

    def per_label(self, *, single: bool = False) -> list[LabelSummary]:
        """A :class:`LabelSummary` per index of axis 1 (multi-label input; with ``single``, ``(N,)`` as one label)."""
        shape = self.inputs.shape
        if len(shape) < 2 and not (single and self.losses.size):
            return []
        labels = shape[1] if len(shape) >= 2 else 1
        axis = 1 if len(shape) >= 2 else 0
        losses = np.moveaxis(self.losses.reshape(shape), axis, 0).reshape(labels, -1)
        correct = np.moveaxis(self.correct.reshape(shape), axis, 0).reshape(labels, -1)
        positive = np.moveaxis(self.inputs.targets.reshape(shape) >= 0.5, axis, 0).reshape(labels, -1)
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            total = float(np.sum(self.losses))
            return [
                LabelSummary(
                    label,
                    int(np.count_nonzero(positive[label])),
                    float(np.mean(losses[label])),
                    float(np.sum(losses[label]) / np.float64(total)),
                    float(np.mean(correct[label])),
                )
                for label in range(labels)
            ]


def build_binary_report(
    inputs: BinaryInputs,
    formula: FormulaSpec,
    reduction: Reduction = "mean",
    *,
    eps: float | str | None = None,
    strict: bool = True,
    by_label: bool = False,
    progress: Callable[[int], None] | None = None,
) -> BinaryReport:
    """Evaluate binary ``inputs`` under ``formula`` and gather what the renderers show.

    ``strict=False`` gives NaN, not an error, for probabilities outside [0, 1] (for ``compare``);
    ``by_label`` asks for the per-label summary.

    Raises:
        OptionError: a positive weight with a formula that takes probabilities (``strict``), or an ``eps``
            that cannot be honoured.
    """
    if strict and inputs.pos_weight is not None and formula.binary == "probabilities":
        raise OptionError(
            f"pos_weight weighs the positives of logits; {formula.name} takes the inputs as probabilities, as "
            "binary_cross_entropy does, which has no pos_weight"
        )
    clip = probability_clip(eps, formula, inputs.values.dtype)

    # Each block's results go into these as it comes, so its own arrays go at once (a list of
    # blocks joined at the end would hold every loss twice); the compiled kernel writes them itself.
    losses = np.empty(inputs.num_elements)
    correct = np.empty(inputs.num_elements, dtype=bool)
    kernel = active_kernel()
    native = kernel.native and reads_dtype(inputs.values.dtype)  # every block has the values' dtype

    def one_block(start: int, stop: int) -> tuple[bool, int]:
        part = slice(start, stop)
        if native:
            pw = None if inputs.pos_weight is None else inputs.pos_weight[part]
            w = None if inputs.weight is None else inputs.weight[part]
            raw = np.asarray(inputs.values[part]).reshape(-1)
            probabilities = formula.binary == "probabilities"
            t = inputs.targets[part]
            outside, in_unit, non_finite, bad_targets = binary_elements(
                kernel, probabilities, raw, t, pw, w, clip, losses[part], correct[part], not inputs.targets_checked
            )
            if bad_targets and not inputs.targets_checked:
                check_target_range(inputs.targets, inputs.targets_name)  # names the first, whichever block found one
            if outside < 0:
                return in_unit, non_finite
        block = binary_block(inputs, formula, clip, start, stop, strict)  # numpy words the error, or gives NaN
        losses[part], correct[part] = block.losses, block.correct
        return block.all_in_unit, block.non_finite

    chunk_bytes = NATIVE_CHUNK_BYTES if native else CHUNK_BYTES
    found = list(run_blocks(inputs.values, one_block, progress=progress, chunk_bytes=chunk_bytes))
    filled = inputs.num_elements
    all_in_unit = all(in_unit for in_unit, _ in found)
    non_finite = sum(count for _, count in found)
    warnings: list[DataWarning] = []
    if filled and formula.expects == "logits" and all_in_unit:
        instead = next(spec.name for spec in REGISTRY.values() if spec.binary == "probabilities")
        warnings.append(SigmoidGivenProbabilities(formula.name, instead))
    if non_finite:
        warnings.append(NonFiniteLogits(non_finite, inputs.num_elements, binary=True))
    shape = inputs.shape
    return BinaryReport(
        inputs, formula, reduction, clip, losses.reshape(shape), correct.reshape(shape), tuple(warnings), by_label
    )
