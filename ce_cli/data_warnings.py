"""Warnings about the data: facts for the user, never errors. Pure numpy.

The most common cross-entropy mistakes are feeding probabilities where logits
belong (softmax applied twice), the reverse, and targets that are not what the
loss assumes (multi-hot labels, rows that are not distributions). None of the
big libraries warns about these; :func:`data_warnings` does, from the
:class:`~ce_cli.row_checks.RowChecks` gathered while the losses were
evaluated and a look at the targets. The command line words each fact.

The advice never contradicts itself: the same test (:mod:`ce_cli.row_checks`)
decides for every formula whether rows are probabilities, so at most one
direction of "these look like probabilities" / "these are not probabilities"
can fire, and the advice to a formula that takes probabilities comes with the
clipping its own check would ask for when a probability is 0.
"""

from __future__ import annotations

import numpy as np

from ce_cli.families.softmax.inputs import ValidatedInputs
from ce_cli.formulas import REGISTRY, Expects, FormulaSpec
from ce_cli.records import frozen
from ce_cli.row_checks import RowChecks, sum_tolerance


@frozen
class ProbabilitiesGivenAsLogits:
    """Every row is a probability row, but ``formula`` takes logits and applies softmax again.

    ``instead`` takes probabilities; ``zeros`` says whether some probability is 0 (clip them with it).
    """

    formula: str
    instead: str
    zeros: bool


@frozen
class NotProbabilities:
    """``rows`` of ``samples`` rows are not probabilities, which ``formula`` takes; ``instead`` takes logits."""

    formula: str
    rows: int
    samples: int
    instead: str


@frozen
class ZeroProbabilities:
    """``affected`` of ``samples`` losses are infinite: a probability their target needs is exactly 0."""

    affected: int
    samples: int


@frozen
class NonFiniteLogits:
    """``affected`` of ``samples`` samples have NaN or infinite inputs that make their loss NaN or infinite;
    ``binary``: elements of the binary family, whose infinities PyTorch resolves otherwise."""

    affected: int
    samples: int
    binary: bool = False


@frozen
class EveryTargetIgnored:
    """Every target is ``ignore_index``: the mean is NaN (0/0) and the sum 0, as in PyTorch."""

    ignore_index: int


@frozen
class MultiHotTargets:
    """Probability targets of 0s and 1s with several 1s in ``rows`` of ``samples`` rows: multi-label data."""

    rows: int
    samples: int


@frozen
class TargetsNotDistributions:
    """``rows`` of ``samples`` probability-target rows do not sum to 1 (the first sums to ``first_sum``)."""

    rows: int
    samples: int
    first_sum: float


@frozen
class OneSampleAssumed:
    """Logits of shape ``(C,)`` with targets of the same shape that are no distribution: read as one sample
    over ``classes`` classes with probability targets, where ``classes`` samples of one logit each may be meant."""

    classes: int


@frozen
class SigmoidGivenProbabilities:
    """Every binary input lies in [0, 1], as probabilities do, but ``formula`` applies the sigmoid to them again.

    ``instead`` takes its inputs as probabilities.
    """

    formula: str
    instead: str


@frozen
class PosWeightLeftOut:
    """``formulas`` take the inputs as probabilities, where a positive weight has no meaning: their losses
    are computed without it (``binary_cross_entropy`` has no ``pos_weight``)."""

    formulas: tuple[str, ...]


@frozen
class TeacherForm:
    """A distillation teacher declared as ``declared`` that looks like ``looks`` in ``rows`` of ``samples`` rows."""

    declared: str
    looks: str
    rows: int
    samples: int


DataWarning = (
    TeacherForm
    | ProbabilitiesGivenAsLogits
    | SigmoidGivenProbabilities
    | NotProbabilities
    | ZeroProbabilities
    | NonFiniteLogits
    | EveryTargetIgnored
    | MultiHotTargets
    | TargetsNotDistributions
    | OneSampleAssumed
    | PosWeightLeftOut
)


def _first_expecting(expects: Expects, family: str) -> str:
    """The first registered formula of ``family`` that takes its inputs as ``expects``."""
    return next(s.name for s in REGISTRY.values() if s.expects == expects and s.family == family)


def _target_warnings(inputs: ValidatedInputs) -> list[DataWarning]:
    """Probability targets that are not what cross-entropy over classes assumes."""
    if not inputs.probability_targets or inputs.num_samples == 0:
        return []
    targets = np.asarray(inputs.targets, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        sums = targets.sum(axis=1)
        off = ~(np.abs(sums - 1.0) <= sum_tolerance(targets, inputs.target_dtype))  # NaN sums are off too
    if not off.any():
        return []
    if len(inputs.logits_shape) == 1:
        return [OneSampleAssumed(inputs.num_classes)]
    binary = bool(np.all((targets == 0.0) | (targets == 1.0)))
    several = int(np.count_nonzero(sums > 1.0))
    if binary and several:
        return [MultiHotTargets(several, inputs.num_samples)]
    return [TargetsNotDistributions(int(np.count_nonzero(off)), inputs.num_samples, float(sums[np.argmax(off)]))]


def data_warnings(checks: RowChecks, inputs: ValidatedInputs, formula: FormulaSpec | None) -> list[DataWarning]:
    """What a user should know about the data; empty for ordinary input.

    Args:
        checks: what the rows showed while ``inputs`` were evaluated.
        inputs: the validated input (for its number of samples, targets and ignored targets).
        formula: the formula that ran; ``None`` (as ``compare`` passes) leaves
            out the warnings that concern one formula's kind of input.
    """
    found: list[DataWarning] = []
    samples = inputs.num_samples
    if samples == 0:
        return found
    if formula is not None and formula.expects == "logits" and checks.all_probability_like:
        instead = _first_expecting("probabilities", formula.family)
        found.append(ProbabilitiesGivenAsLogits(formula.name, instead, checks.zero_probability > 0))
    if formula is not None and formula.expects == "probabilities":
        if checks.not_probability:
            instead = _first_expecting("logits", formula.family)
            found.append(NotProbabilities(formula.name, checks.not_probability, samples, instead))
        elif checks.infinite_from_zero:
            found.append(ZeroProbabilities(checks.infinite_from_zero, samples))
    if checks.non_finite:
        found.append(NonFiniteLogits(checks.non_finite, samples))
    found.extend(_target_warnings(inputs))
    if not inputs.counted.any():
        found.append(EveryTargetIgnored(inputs.ignore_index))
    return found
