"""The derivation of one sample's loss, step by step, as on paper. Pure numpy, no I/O.

For logits ``x`` over ``C`` classes and target ``t``:

1. ``m = max_j x_j`` and the shifted row ``x - m`` (every entry <= 0);
2. ``exp(x - m)`` (every entry in [0, 1], the largest exactly 1) and their sum ``S``;
3. ``logsumexp(x) = m + log S``;
4. ``loss = logsumexp(x) - x[t]``, the same number as ``-log_softmax(x)[t]``
   with ``log_softmax(x) = x - logsumexp(x)``;
5. the gradient ``d loss / d x = softmax(x) - onehot(t)``.

With weights ``w``, label smoothing ``E`` or probability targets, the loss is
``sum_c v_c * (-log_softmax(x)_c)`` for per-class coefficients ``v`` (index
targets: ``v = (1 - E) * w[t] * onehot(t) + (E / C) * w``; probabilities:
``v = w * ((1 - E) * t + E / C)``), and the gradient is
``sum(v) * softmax(x) - v``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ce_cli.errors import OptionError
from ce_cli.formulas import block_losses
from ce_cli.shifted import log_softmax, logsumexp
from ce_cli.validate import Problem

FloatArray = NDArray[np.float64]
EXP_OVERFLOW = math.log(np.finfo(np.float64).max)  # exp(x) is inf in float64 beyond ~709.78


def resolve_sample(text: str, sample_shape: tuple[int, ...]) -> int:
    """The flat position of ``--sample``: a flat index ``"7"`` or a tuple ``"2,3"``/``"(2, 3)"``.

    Raises:
        OptionError: not an index, or out of range for ``sample_shape``.
    """
    count = int(np.prod(sample_shape))
    parts = [p for p in re.split(r"[,\s]+", text.strip().strip("()[]")) if p]
    if not parts or not all(re.fullmatch(r"-?\d+", p) for p in parts):
        raise OptionError(f"--sample {text!r} is not an index (give a number, or a tuple such as 2,3)")
    numbers = [int(p) for p in parts]
    if len(numbers) == 1:
        (flat,) = numbers
        if not -count <= flat < count:
            raise OptionError(f"--sample {flat} is out of range: there are {count} samples (0..{count - 1})")
        return flat % count
    if len(numbers) != len(sample_shape) or not all(-n <= i < n for i, n in zip(numbers, sample_shape, strict=True)):
        raise OptionError(f"--sample {text!r} does not fit the samples' shape {sample_shape}")
    return int(np.ravel_multi_index(tuple(i % n for i, n in zip(numbers, sample_shape, strict=True)), sample_shape))


@dataclass(frozen=True)
class Derivation:
    """Every intermediate value of one sample's loss; arrays are ``(C,)`` float64.

    Attributes:
        sample: the sample's index in the targets' shape (``()`` if unbatched).
        target: the target class, or ``None`` for probability targets.
        target_distribution: the (smoothed) target probabilities, or ``None``.
        ignored: the target is the ignore index (loss 0, not counted).
        maximum, shifted, exp_shifted, sum_exp, logsumexp: steps 1-3.
        target_logit, nll: ``x[t]`` and ``logsumexp(x) - x[t]`` (index targets).
        log_probs, probs: ``log_softmax(x)`` and ``softmax(x)``.
        coefficients: ``v`` with ``loss = sum_c v_c * (-log_probs_c)``.
        loss: the sample's loss with every option, as ``compute`` reports it.
        gradient: ``d loss / d x``.
        naive_loss: ``-log x[t]``, the textbook formula on the raw inputs.
        weight, label_smoothing: the options in play.
        weighted_nll, smoothing_term: the two parts of a smoothed index loss.
    """

    sample: tuple[int, ...]
    target: int | None
    target_distribution: FloatArray | None
    ignored: bool
    logits: FloatArray
    maximum: float
    shifted: FloatArray
    exp_shifted: FloatArray
    sum_exp: float
    logsumexp: float
    target_logit: float | None
    nll: float | None
    log_probs: FloatArray
    probs: FloatArray
    coefficients: FloatArray
    loss: float
    gradient: FloatArray
    naive_loss: float | None
    weight: FloatArray | None
    label_smoothing: float
    weighted_nll: float | None
    smoothing_term: float | None

    @property
    def largest_logit(self) -> float:
        """The largest logit that is not NaN (``-inf`` if there is none)."""
        numbers = self.logits[~np.isnan(self.logits)]
        return float(np.max(numbers)) if numbers.size else -math.inf

    @property
    def unshifted_overflows(self) -> bool:
        """Whether ``exp(x)`` without the shift would overflow float64 for this row."""
        return self.largest_logit > EXP_OVERFLOW


def explain(problem: Problem, flat: int) -> Derivation:
    """Derive the loss of sample ``flat`` (a position in ``problem.sample_shape``, C order)."""
    x = np.asarray(problem.rows[flat], dtype=np.float64)
    num_classes = x.shape[0]
    eps = problem.label_smoothing
    w = problem.weight if problem.weight is not None else np.ones(num_classes)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        maximum = float(np.max(x))
        shifted = x - maximum
        exp_shifted = np.exp(shifted)
        sum_exp = float(np.sum(exp_shifted))
        log_probs = log_softmax(x)
        lse = float(logsumexp(x))
        probs = np.exp(log_probs)
    loss = float(block_losses(problem, flat, flat + 1, "cross_entropy").losses[0])

    target: int | None = None
    distribution: FloatArray | None = None
    target_logit = nll = naive_loss = weighted_nll = smoothing_term = None
    ignored = False
    if problem.soft:
        distribution = np.asarray(problem.targets[flat], dtype=np.float64) * (1.0 - eps) + eps / num_classes
        coefficients = w * distribution
    else:
        target = int(problem.targets[flat])
        ignored = target == problem.ignore_index
        if ignored:
            coefficients = np.zeros(num_classes)
        else:
            target_logit = float(x[target])
            nll = lse - target_logit
            with np.errstate(divide="ignore", invalid="ignore"):
                naive_loss = float(-np.log(x[target]))
            coefficients = (eps / num_classes) * w
            coefficients[target] += (1.0 - eps) * w[target]
            weighted_nll = float(w[target] * nll)
            if eps > 0.0:
                with np.errstate(invalid="ignore"):
                    smoothing_term = float((eps / num_classes) * np.sum(w * -log_probs))
    with np.errstate(invalid="ignore"):
        gradient = np.sum(coefficients) * probs - coefficients

    return Derivation(
        sample=tuple(int(i) for i in np.unravel_index(flat, problem.sample_shape)),
        target=target,
        target_distribution=distribution,
        ignored=ignored,
        logits=x,
        maximum=maximum,
        shifted=shifted,
        exp_shifted=exp_shifted,
        sum_exp=sum_exp,
        logsumexp=lse,
        target_logit=target_logit,
        nll=nll,
        log_probs=log_probs,
        probs=probs,
        coefficients=coefficients,
        loss=loss,
        gradient=gradient,
        naive_loss=naive_loss,
        weight=problem.weight,
        label_smoothing=eps,
        weighted_nll=weighted_nll,
        smoothing_term=smoothing_term,
    )
