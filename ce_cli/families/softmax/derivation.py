"""The derivation of one sample's loss, step by step, as on paper. Pure numpy, no I/O.

For logits ``x`` over ``C`` classes and target ``t``:

1. ``m = max_j x_j`` and the shifted row ``x - m`` (every entry <= 0);
2. ``exp(x - m)`` (every entry in [0, 1], the largest exactly 1) and their sum ``S``;
3. ``logsumexp(x) = m + log S``;
4. ``loss = logsumexp(x) - x[t]``, the same number as ``-log_softmax(x)[t]``
   with ``log_softmax(x) = x - logsumexp(x)``;
5. the gradient ``d loss / d x = softmax(x) - onehot(t)``.

Weights, label smoothing and probability targets enter through the
coefficients of :mod:`ce_cli.families.softmax.weighting` (``loss = sum_c v_c * (-log_softmax(x)_c)``,
gradient ``sum(v) * softmax(x) - v``), computed there for every formula.
"""

from __future__ import annotations

import math

import numpy as np

from ce_cli.array_types import Float64Array
from ce_cli.comparison import abs_diff, compared_formulas, largest, verdict
from ce_cli.data_warnings import DataWarning, NonFiniteLogits
from ce_cli.families.softmax.inputs import ValidatedInputs
from ce_cli.families.softmax.losses import block_terms
from ce_cli.families.softmax.weighting import index_coefficients, probability_coefficients, smoothed_targets
from ce_cli.formulas import REFERENCE, REGISTRY
from ce_cli.log_sum_exp import EXP_OVERFLOW, log_softmax, logsumexp
from ce_cli.records import frozen


@frozen
class Derivation:
    """Every intermediate value of one sample's loss; arrays are ``(C,)`` float64.

    The attributes are named, and ordered, as ``explain --format json`` writes them.

    Attributes:
        sample: the sample's index in the targets' shape (``()`` if unbatched).
        target: the target class, or ``None`` for probability targets.
        target_distribution: the (smoothed) target probabilities, or ``None``.
        ignored: the target is the ignore index (loss 0, not counted).
        logits: the sample's row ``x``.
        max, shifted, exp_shifted, sum_exp, logsumexp: steps 1-3.
        target_logit, nll: ``x[t]`` and ``logsumexp(x) - x[t]`` (index targets).
        log_softmax, softmax: ``log_softmax(x)`` and ``softmax(x)``.
        weight, label_smoothing: the options in play.
        weighted_nll, smoothing_term: ``w[t] * NLL`` and ``(E / C) * sum_c w_c * (-log p_c)``,
            the two parts of an index target's loss (see :mod:`ce_cli.families.softmax.weighting`).
        coefficients: ``v`` with ``loss = sum_c v_c * (-log_softmax(x)_c)``.
        loss: the sample's loss with every option, as ``compute`` reports it.
        gradient: ``d loss / d x``.
        naive_loss: ``-log x[t]``, the textbook formula on the raw inputs, for an index target
            (``None`` otherwise); ``formulas["naive"]`` is the same with weights and smoothing.
        formulas: every formula's loss for this sample, the reference first.
        verdicts: each formula's verdict against the reference on this sample, as ``compare`` words it.
    """

    sample: tuple[int, ...]
    target: int | None
    target_distribution: Float64Array | None
    ignored: bool
    logits: Float64Array
    max: float
    shifted: Float64Array
    exp_shifted: Float64Array
    sum_exp: float
    logsumexp: float
    target_logit: float | None
    nll: float | None
    log_softmax: Float64Array
    softmax: Float64Array
    weight: Float64Array | None
    label_smoothing: float
    weighted_nll: float | None
    smoothing_term: float | None
    coefficients: Float64Array
    loss: float
    gradient: Float64Array
    naive_loss: float | None
    formulas: dict[str, float]
    verdicts: dict[str, str]

    @property
    def largest_logit(self) -> float:
        """The largest logit that is not NaN (``-inf`` if there is none)."""
        numbers = self.logits[~np.isnan(self.logits)]
        return float(np.max(numbers)) if numbers.size else -math.inf

    def shown_classes(self, most: int) -> list[int]:
        """The classes a table of at most ``most`` rows shows, in class order: the target (or the
        targets' largest probability) and the classes with the largest logits; all when they fit."""
        count = self.logits.shape[0]
        if count <= most:
            return list(range(count))
        order = np.argsort(-np.nan_to_num(self.logits, nan=-np.inf), kind="stable")
        first = self.target if self.target is not None and not self.ignored else None
        if first is None and self.target_distribution is not None:
            first = int(np.argmax(self.target_distribution))
        chosen = [] if first is None else [first]
        chosen += [int(c) for c in order[:most] if int(c) != first][: max(0, most - len(chosen))]
        return sorted(chosen)

    @property
    def unshifted_overflows(self) -> bool:
        """Whether ``exp(x)`` without the shift would overflow float64 for this row."""
        return self.largest_logit > EXP_OVERFLOW


def _optional(values: Float64Array | None) -> float | None:
    return None if values is None else float(values[0])


def derive(inputs: ValidatedInputs, flat: int) -> Derivation:
    """Derive the loss of sample ``flat`` (a position in ``inputs.sample_shape``, C order)."""
    x = np.asarray(inputs.rows[flat], dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        maximum = float(np.max(x))
        shifted = x - maximum
        exp_shifted = np.exp(shifted)
        log_probs = log_softmax(x)
        lse = float(logsumexp(x))
        probs = np.exp(log_probs)
    terms = {spec.name: block_terms(inputs, spec, flat, flat + 1)[1] for spec in compared_formulas()}
    formulas = {name: float(t.losses[0]) for name, t in terms.items()}
    reference = terms[REFERENCE].losses
    verdicts = {name: verdict(REGISTRY[name], largest(abs_diff(t.losses, reference)), 1) for name, t in terms.items()}
    parts = terms[REFERENCE]

    target: int | None = None
    distribution: Float64Array | None = None
    target_logit = nll = naive_loss = None
    ignored = False
    if inputs.probability_targets:
        distribution = smoothed_targets(inputs.targets[flat : flat + 1], inputs)[0]
        coefficients = probability_coefficients(inputs.targets[flat : flat + 1], inputs)[0]
    else:
        target = int(inputs.targets[flat])
        ignored = target == inputs.ignore_index
        coefficients = index_coefficients(target, inputs)
        if not ignored:
            target_logit = float(x[target])
            nll = lse - target_logit
            naive = terms.get("naive")  # the JSON key scripts read: -log q[t], with no weight or smoothing
            naive_loss = None if naive is None else -float(naive.target_log_prob[0])
    with np.errstate(invalid="ignore"):
        gradient = np.sum(coefficients) * probs - coefficients

    return Derivation(
        sample=tuple(int(i) for i in np.unravel_index(flat, inputs.sample_shape)),
        target=target,
        target_distribution=distribution,
        ignored=ignored,
        logits=x,
        max=maximum,
        shifted=shifted,
        exp_shifted=exp_shifted,
        sum_exp=float(np.sum(exp_shifted)),
        logsumexp=lse,
        target_logit=target_logit,
        nll=nll,
        log_softmax=log_probs,
        softmax=probs,
        weight=inputs.weight,
        label_smoothing=inputs.label_smoothing,
        weighted_nll=None if ignored else _optional(parts.weighted_nll),
        smoothing_term=None if ignored else _optional(parts.smoothing_term),
        coefficients=coefficients,
        loss=formulas[REFERENCE],
        gradient=gradient,
        naive_loss=naive_loss,
        formulas=formulas,
        verdicts=verdicts,
    )


def derivation_warnings(d: Derivation) -> list[DataWarning]:
    """What ``compute`` would say about this sample: non-finite logits that make its loss non-finite."""
    if not np.isfinite(d.logits).all() and not math.isfinite(d.loss):
        return [NonFiniteLogits(affected=1, samples=1)]
    return []
