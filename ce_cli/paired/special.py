"""The two tail probabilities the paired tests need, in plain Python (no scipy).

- :func:`student_t_two_sided`: ``P(|T| >= |t|)`` for Student's t with ``df`` degrees of
  freedom, as ``scipy.stats.ttest_rel`` reports its p-value: ``I_{df / (df + t^2)}(df / 2, 1 / 2)``.
- :func:`binomial_half_cdf`: ``P(X <= k)`` for ``X ~ Binomial(m, 1/2)``, as McNemar's exact test
  (``statsmodels.stats.contingency_tables.mcnemar(exact=True)``) uses it: exact rational arithmetic
  up to :data:`EXACT_TRIALS` trials, ``I_{1/2}(m - k, k + 1)`` beyond.

Both rest on the regularized incomplete beta function ``I_x(a, b)``, evaluated by its continued
fraction (modified Lentz), as in Numerical Recipes ``betai`` (section 6.4), accurate to about
1e-14 relative in the tail it is evaluated on (tests/test_paired_special.py checks it against mpmath).
"""

from __future__ import annotations

import math
from fractions import Fraction

EXACT_TRIALS = 4000  # up to this many trials the binomial tail is summed exactly, as integers
_TINY = 1e-300
_EPS = 1e-16
_MAX_TERMS = 100_000


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of ``I_x(a, b)``, converging fast for ``x < (a + 1) / (a + b + 2)``."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _MAX_TERMS):
        m2 = 2 * m
        for numerator in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            h *= d * c
        if abs(d * c - 1.0) < _EPS:
            return h
    raise ArithmeticError(f"the incomplete beta fraction did not converge (a={a}, b={b}, x={x})")  # pragma: no cover


def _stirling_tail(z: float) -> float:
    """``lgamma(z) - ((z - 1/2) ln z - z + ln(2 pi) / 2)`` for ``z >= LARGE`` (within 1e-17)."""
    w = 1.0 / (z * z)
    return (1.0 / 12.0 - w * (1.0 / 360.0 - w * (1.0 / 1260.0 - w * (1.0 / 1680.0 - w / 1188.0)))) / z


LARGE = 15.0
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def _log_ratio(relative: float, base: float, scale: float) -> float:
    """``ln(base * scale)``, which is ``ln(1 + relative)``: by ``log1p`` near the mode, where it is small."""
    if abs(relative) < 0.5:
        return math.log1p(relative)
    return math.log(base) + math.log(scale)


def _log_front(a: float, b: float, x: float, y: float) -> float:
    """``ln(x^a y^b / B(a, b))`` with ``y = 1 - x``, without the cancellation of large ``lgamma`` terms:
    Stirling's series where ``a`` or ``b`` is large, the powers taken relative to the mode ``a / (a + b)``."""
    if min(a, b) >= LARGE:
        total = a + b
        shift = x * b - y * a  # x (a + b) - a, computed once
        return (
            a * _log_ratio(shift / a, x, total / a)
            + b * _log_ratio(-shift / b, y, total / b)
            + 0.5 * math.log(a * b / total)
            - _HALF_LOG_2PI
            - _stirling_tail(a)
            - _stirling_tail(b)
            + _stirling_tail(total)
        )
    if max(a, b) >= LARGE:  # one large (say a), one small: lgamma(b) and the large ones' ratio
        big, small, big_base, small_base = (a, b, x, y) if a >= b else (b, a, y, x)
        total = big + small
        log_beta = (
            math.lgamma(small)
            - (big - 0.5) * math.log1p(small / big)
            - small * math.log(total)
            + small
            + _stirling_tail(big)
            - _stirling_tail(total)
        )
        big_log = math.log1p(-small_base) if small_base < 0.5 else math.log(big_base)
        return big * big_log + small * math.log(small_base) - log_beta
    return math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(y)


def incomplete_beta(a: float, b: float, x: float, y: float | None = None) -> float:
    """The regularized incomplete beta function ``I_x(a, b)`` for ``a, b > 0`` and ``x`` in [0, 1].

    ``y``: ``1 - x`` where the caller knows it more precisely than ``1 - x`` rounds it.
    """
    y = 1.0 - x if y is None else y
    if math.isnan(x) or not 0.0 <= x <= 1.0:
        return math.nan
    if x == 0.0 or y == 0.0:
        return 0.0 if x == 0.0 else 1.0
    front = math.exp(_log_front(a, b, x, y))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, y) / b


def student_t_two_sided(t: float, df: float) -> float:
    """``P(|T| >= |t|)`` for Student's t with ``df`` degrees of freedom (NaN for NaN ``t`` or ``df <= 0``)."""
    if math.isnan(t) or not df > 0.0:
        return math.nan
    if math.isinf(t):
        return 0.0
    return min(1.0, incomplete_beta(df / 2.0, 0.5, df / (df + t * t), t * t / (df + t * t)))


def binomial_half_cdf(k: int, m: int) -> float:
    """``P(X <= k)`` for ``X ~ Binomial(m, 1/2)`` (1 for ``k >= m``, 0 for ``k < 0``)."""
    if k < 0:
        return 0.0
    if k >= m:
        return 1.0
    if m <= EXACT_TRIALS:
        total, term = 0, 1
        for i in range(k + 1):  # C(m, i), built up term by term
            total += term
            term = term * (m - i) // (i + 1)
        return float(Fraction(total, 1 << m))
    return incomplete_beta(float(m - k), float(k + 1), 0.5)


def mcnemar_exact(only_new_right: int, only_baseline_right: int) -> float:
    """McNemar's exact p-value from the discordant pairs, as statsmodels' ``mcnemar(exact=True)``:
    ``min(1, 2 P(X <= min(b, c)))`` for ``X ~ Binomial(b + c, 1/2)`` (1 when no pair is discordant)."""
    discordant = only_new_right + only_baseline_right
    return min(1.0, 2.0 * binomial_half_cdf(min(only_new_right, only_baseline_right), discordant))
