"""Temperature scaling (Guo et al. 2017, "On Calibration of Modern Neural Networks"): the T that
minimises the mean NLL of ``softmax(logits / T)`` over the counted samples.

With ``b = 1 / T`` and ``z = b x`` for a row ``x`` of C logits and its target ``t``::

    NLL(b)   = mean(logsumexp(b x) - b x_t)
    NLL'(b)  = mean(E_p[x] - x_t)          p = softmax(b x)
    NLL''(b) = mean(Var_p[x]) >= 0

so the NLL is convex in ``b`` and the optimum is the root of ``NLL'``, found by Newton's method kept
inside a bracket (a step that leaves it bisects instead), to ``1e-13`` relative in ``b``. Two limits
have no finite root: ``NLL'(0) >= 0`` (the targets are no better than average: T = inf, the uniform
distribution) and ``NLL' < 0`` for every ``b`` (every target holds its row's maximum: T -> 0).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np

from ce_cli.array_types import Float64Array, IndexArray
from ce_cli.records import frozen

Blocks = Callable[[], Iterable[tuple[Float64Array, IndexArray]]]
"""Called once per evaluation: the counted samples' ``(B, C)`` float64 logits and ``(B,)`` targets, by blocks."""

TOLERANCE = 1e-13
LARGEST_B = 2.0**40


@frozen
class Temperature:
    """The fitted temperature, and the mean NLL at ``T = 1`` and at the fitted ``T``."""

    value: float
    loss_before: float
    loss_after: float


def _separable(blocks: Blocks) -> bool:
    """Whether every target holds its row's largest logit: then ``NLL' < 0`` for every ``b`` (T -> 0)."""
    return all(not (len(t) and not np.all(x[np.arange(len(t)), t] == np.max(x, axis=1))) for x, t in blocks())


def _moments(blocks: Blocks, b: float) -> tuple[float, float, float]:
    """``(NLL(b), NLL'(b), NLL''(b))`` over every block (max-shifted; ``b = 0`` is the uniform distribution)."""
    nll = slope = curvature = 0.0
    n = 0
    for x, t in blocks():
        if not len(t):
            continue
        z = x * b
        m = np.max(z, axis=1, keepdims=True)
        e = np.exp(z - m)
        s = np.sum(e, axis=1, keepdims=True)
        p = e / s
        rows = np.arange(len(t))
        mean = np.sum(p * x, axis=1, keepdims=True)
        nll += float(np.sum(m[:, 0] + np.log(s[:, 0]) - z[rows, t]))
        slope += float(np.sum(mean[:, 0] - x[rows, t]))
        curvature += float(np.sum(p * (x - mean) ** 2))
        n += len(t)
    if not n:
        return math.nan, math.nan, math.nan
    return nll / n, slope / n, curvature / n


def fit_temperature(blocks: Blocks) -> Temperature:
    """The temperature minimising the mean NLL (see the module docstring): ``inf`` or ``0`` at the limits."""
    before, slope_one, _ = _moments(blocks, 1.0)
    if math.isnan(before) or not math.isfinite(slope_one):
        return Temperature(math.nan, before, math.nan)
    at_zero = _moments(blocks, 0.0)
    if at_zero[1] >= 0.0:
        return Temperature(math.inf, before, at_zero[0])
    if _separable(blocks):  # the NLL falls all the way to T -> 0 (its limit: the log of the ties' count)
        return Temperature(0.0, before, _moments(blocks, LARGEST_B)[0])
    low, high = (0.0, 1.0) if slope_one >= 0.0 else (1.0, 2.0)
    while _moments(blocks, high)[1] < 0.0 and high < LARGEST_B:
        low, high = high, high * 2.0
    b = 1.0 if low < 1.0 < high else 0.5 * (low + high)
    for _ in range(200):
        _, slope, curvature = _moments(blocks, b)
        if slope == 0.0:
            break
        low, high = (b, high) if slope < 0.0 else (low, b)
        step = slope / curvature if curvature > 0.0 else math.inf
        following = b - step
        if not low < following < high:
            following = 0.5 * (low + high)
        if abs(following - b) <= TOLERANCE * following or high - low <= TOLERANCE * high:
            b = following
            break
        b = following
    return Temperature(1.0 / b, before, _moments(blocks, b)[0])
