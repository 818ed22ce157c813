"""PyTorch's weights, ignored targets, label smoothing and probability targets, once for every formula.

Pure numpy. Whatever the formula, a sample's loss is a weighted sum of its
negative log-probabilities (``log p`` as the formula computes it, see
:mod:`ce_cli.formulas`)::

    loss = sum_c v_c * (-log p_c)

with the coefficients ``v`` (``w`` the class weights, all ones when none are
given; ``E`` the label smoothing; ``C`` the number of classes):

- index target ``t``: ``v = (1 - E) * w[t] * onehot(t) + (E / C) * w``, and
  ``v = 0`` where ``t`` is the ignore index; the mean divides by ``sum w[t]``
  over the samples not ignored;
- probability targets ``t`` (a row summing to 1): ``v = w * ((1 - E) * t + E / C)``;
  the mean divides by the number of samples, not a weight sum.

For index targets the sum is evaluated as its two terms,
``(1 - E) * w[t] * (-log p[t]) + (E / C) * sum_c w_c * (-log p_c)``, so that
``log p`` is needed at every class only when ``E > 0``. The gradient of the loss
with respect to the logits is ``sum(v) * softmax(x) - v``
(:func:`index_coefficients` gives ``v`` for one sample).
"""

from __future__ import annotations

import numpy as np

from ce_cli.array_types import BoolArray, Float64Array, IndexArray
from ce_cli.families.softmax.inputs import ValidatedInputs
from ce_cli.formulas import BlockLogProbs
from ce_cli.records import frozen


def needs_all_classes(inputs: ValidatedInputs) -> bool:
    """Whether the losses read ``log p`` at every class, not only at the target's."""
    return inputs.probability_targets or inputs.label_smoothing > 0.0


def target_classes(inputs: ValidatedInputs, start: int, stop: int) -> tuple[IndexArray, BoolArray]:
    """``(classes, counted)`` for rows ``start:stop``: each row's target class (0 where the
    target is ignored; the argmax of probability targets) and whether it counts."""
    targets = inputs.targets[start:stop]
    if inputs.probability_targets:
        return np.argmax(targets, axis=1), np.ones(stop - start, dtype=bool)
    counted = targets != inputs.ignore_index
    classes: IndexArray = targets if counted.all() else np.where(counted, targets, 0)
    return classes, counted


def smoothed_targets(targets: Float64Array, inputs: ValidatedInputs) -> Float64Array:
    """``(1 - E) * t + E / C`` for ``(B, C)`` probability targets ``t`` (``t`` itself when ``E = 0``)."""
    smoothing = inputs.label_smoothing
    smoothed: Float64Array = np.asarray(targets, dtype=np.float64)
    if smoothing > 0.0:
        smoothed = smoothed * (1.0 - smoothing) + smoothing / inputs.num_classes
    return smoothed


def probability_coefficients(targets: Float64Array, inputs: ValidatedInputs) -> Float64Array:
    """``v = w * ((1 - E) * t + E / C)`` for ``(B, C)`` probability targets ``t``."""
    smoothed = smoothed_targets(targets, inputs)
    out: Float64Array = smoothed if inputs.weight is None else smoothed * inputs.weight
    return out


def index_coefficients(target: int, inputs: ValidatedInputs) -> Float64Array:
    """``(C,)`` ``v = (1 - E) * w[t] * onehot(t) + (E / C) * w`` for one index target (zeros if ignored)."""
    num_classes, smoothing = inputs.num_classes, inputs.label_smoothing
    weight = np.ones(num_classes) if inputs.weight is None else inputs.weight
    if target == inputs.ignore_index:
        return np.zeros(num_classes)
    v: Float64Array = (smoothing / num_classes) * weight
    v[target] += (1.0 - smoothing) * weight[target]
    return v


@frozen
class WeightedLosses:
    """The losses of a block of ``B`` rows, and their parts.

    Attributes:
        losses: ``(B,)`` per-sample losses (0 where the target is ignored).
        target_log_prob: ``(B,)`` ``log p`` at each row's target class.
        denominator: what these rows add to the mean's denominator.
        weighted_nll: ``(B,)`` ``w[t] * (-log p[t])`` (index targets), else ``None``.
        smoothing_term: ``(B,)`` ``(E / C) * sum_c w_c * (-log p_c)`` (index targets, ``E > 0``), else ``None``.
    """

    losses: Float64Array
    target_log_prob: Float64Array
    denominator: float
    weighted_nll: Float64Array | None = None
    smoothing_term: Float64Array | None = None


def weighted_losses(
    log_probs: BlockLogProbs, inputs: ValidatedInputs, start: int, stop: int, classes: IndexArray, counted: BoolArray
) -> WeightedLosses:
    """The losses of rows ``start:stop`` from their log-probabilities, with every PyTorch option applied.

    Args:
        log_probs: the formula's ``log p`` for the block, built with the target ``classes``.
        inputs: the validated input the rows come from.
        start, stop: the rows.
        classes, counted: from :func:`target_classes`.
    """
    target_log_prob = log_probs.at_targets()
    weight, smoothing = inputs.weight, inputs.label_smoothing
    if inputs.probability_targets:
        coefficients = probability_coefficients(inputs.targets[start:stop], inputs)
        losses = -log_probs.coefficient_sum(coefficients) + 0.0  # + 0.0 turns -0.0 into 0.0
        return WeightedLosses(losses, target_log_prob, float(stop - start))
    everyone = bool(counted.all())
    if weight is None:  # w[t] = 1: no array of ones, and the denominator is a count
        weighted_nll = -target_log_prob
        denominator = float(len(classes) if everyone else np.count_nonzero(counted))
    else:
        weight_at_target = weight[classes]
        weighted_nll = -weight_at_target * target_log_prob
        denominator = float(np.sum(weight_at_target if everyone else weight_at_target[counted]))
    losses, smoothing_term = weighted_nll, None
    if smoothing > 0.0:
        smoothing_term = (smoothing / inputs.num_classes) * -log_probs.weighted_sum(weight)
        losses = (1.0 - smoothing) * weighted_nll + smoothing_term
    losses = (losses if everyone else np.where(counted, losses, 0.0)) + 0.0  # + 0.0 turns -0.0 into 0.0
    return WeightedLosses(losses, target_log_prob, denominator, weighted_nll, smoothing_term)
