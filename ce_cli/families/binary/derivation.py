"""The derivation of one element's binary loss, step by step. Pure numpy, no I/O.

For a logit ``x``, target ``t``, weight ``w`` and positive weight ``pw``:

1. ``sigmoid(x) = 1 / (1 + exp(-x))``, the probability the logit gives;
2. the stable softplus ``softplus(z) = max(z, 0) + log1p(exp(-|z|))``, which only ever takes
   ``exp`` of a number <= 0, so it cannot overflow at ``|x| = 1000`` where ``exp(x)`` is inf;
3. ``loss = w * (pw * t * softplus(-x) + (1 - t) * softplus(x))``
   (``-log sigmoid(x) = softplus(-x)`` and ``-log(1 - sigmoid(x)) = softplus(x)``);
4. the gradient ``d loss / d x = w * ((1 - t + pw * t) * sigmoid(x) - pw * t)``, as PyTorch's backward gives it.
"""

from __future__ import annotations

import numpy as np

from ce_cli.errors import InputError
from ce_cli.families.binary.forms import logits_losses, probability_losses, softplus
from ce_cli.families.binary.inputs import BinaryInputs
from ce_cli.log_sum_exp import EXP_OVERFLOW
from ce_cli.records import frozen


@frozen
class BinaryDerivation:
    """Every intermediate value of one element's loss; named, and ordered, as ``explain --format json`` writes them.

    Attributes:
        element: the element's index in the input's shape.
        logit, target, weight, pos_weight: the element's values (1 where no weight is given).
        sigmoid: ``sigmoid(logit)``.
        softplus_x, softplus_minus_x: ``softplus(x)`` and ``softplus(-x)``.
        positive_term, negative_term: ``pw * t * softplus(-x)`` and ``(1 - t) * softplus(x)``.
        loss: ``weight * (positive_term + negative_term)``, as ``compute --task binary`` reports it.
        gradient: ``d loss / d x``.
        naive_loss: binary cross-entropy on the raw input taken as a probability (``None`` outside [0, 1]).
    """

    element: tuple[int, ...]
    logit: float
    target: float
    weight: float
    pos_weight: float
    sigmoid: float
    softplus_x: float
    softplus_minus_x: float
    positive_term: float
    negative_term: float
    loss: float
    gradient: float
    naive_loss: float | None

    @property
    def unstable_overflows(self) -> bool:
        """Whether ``exp(|x|)``, which a textbook form takes, is inf in float64 here."""
        return abs(self.logit) > EXP_OVERFLOW


def derive_binary(inputs: BinaryInputs, flat: int) -> BinaryDerivation:
    """Derive the loss of element ``flat`` (a position in ``inputs.shape``, C order)."""
    x = float(np.asarray(inputs.values[flat : flat + 1], dtype=np.float64).reshape(-1)[0])
    t = float(inputs.targets[flat])
    w = 1.0 if inputs.weight is None else float(inputs.weight[flat])
    pw = 1.0 if inputs.pos_weight is None else float(inputs.pos_weight[flat])
    xs, ts = np.array([x]), np.array([t])
    with np.errstate(over="ignore", invalid="ignore"):
        sigmoid = float(np.exp(-softplus(-xs))[0])
        loss = w * float(logits_losses(xs, ts, None if inputs.pos_weight is None else np.array([pw]))[0])
        gradient = w * ((1.0 - t + pw * t) * sigmoid - pw * t)
    try:
        naive: float | None = w * float(probability_losses(xs, ts, None)[0])
    except InputError:
        naive = None
    softplus_x, softplus_minus_x = float(softplus(xs)[0]), float(softplus(-xs)[0])
    return BinaryDerivation(
        element=tuple(int(i) for i in np.unravel_index(flat, inputs.shape)),
        logit=x,
        target=t,
        weight=w,
        pos_weight=pw,
        sigmoid=sigmoid,
        softplus_x=softplus_x,
        softplus_minus_x=softplus_minus_x,
        positive_term=pw * t * softplus_minus_x if t else 0.0,
        negative_term=(1.0 - t) * softplus_x if t != 1.0 else 0.0,
        loss=loss,
        gradient=gradient,
        naive_loss=naive,
    )
