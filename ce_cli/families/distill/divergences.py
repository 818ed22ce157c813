"""The divergences of distillation, per sample over the class axis, in float64. Pure numpy.

Rows are ``(B, C)`` with the class axis last. With ``T`` the temperature and ``p_T = softmax(z / T)``
(``log p_T`` max-shifted: :func:`softened_log_probs`, never ``log(softmax)``):

- ``forward_kl``: ``KL(p_teacher || p_student) = sum_c p_t (log p_t - log p_s)``, the standard KD loss
  (Hinton et al. 2015), the direction ``torch.nn.functional.kl_div(log_softmax(s / T), softmax(t / T))`` has;
- ``reverse_kl``: ``KL(p_student || p_teacher)``;
- ``js``: ``(KL(p_t || m) + KL(p_s || m)) / 2`` with ``m = (p_t + p_s) / 2`` (``log m`` by logaddexp).

A class where the first distribution is 0 adds nothing (``0 log 0 = 0``, as ``xlogy``); a class it gives
mass where the second gives none makes the KL infinite. The distillation loss per sample is
``T^2 D(p_t, p_s)``: the soft targets' gradients scale as ``1 / T^2``, and the factor keeps their
size comparable with the hard loss's as T changes (Hinton et al. 2015, section 2).
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

import numpy as np

from ce_cli.array_types import Float64Array

Divergence: TypeAlias = Literal["forward_kl", "reverse_kl", "js"]
DIVERGENCES: tuple[Divergence, ...] = ("forward_kl", "reverse_kl", "js")
TeacherForm: TypeAlias = Literal["logits", "probabilities", "log_probabilities"]
TEACHER_FORMS: tuple[TeacherForm, ...] = ("logits", "probabilities", "log_probabilities")
KL_REDUCTIONS = ("none", "sum", "mean", "batchmean")


def xlogy(x: Float64Array, y: Float64Array) -> Float64Array:
    """``x log y``, 0 where ``x == 0`` (unless ``y`` is NaN), as ``torch.xlogy``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out: Float64Array = np.where((x == 0.0) & ~np.isnan(y), 0.0, x * np.log(y))
    return out


def kl_div_pointwise(input: Any, target: Any, log_target: bool) -> Float64Array:
    """``torch.nn.functional.kl_div``'s elementwise loss in float64: ``xlogy(t, t) - t * input``, or
    ``exp(t) * (t - input)`` for ``log_target`` (ATen's ``kl_div``)."""
    x = np.asarray(input, dtype=np.float64)
    t = np.asarray(target, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        if log_target:
            out: Float64Array = np.exp(t) * (t - x)
        else:
            out = xlogy(t, t) - t * x
    return out


def softened_log_probs(logits: Any, temperature: float) -> Float64Array:
    """``log softmax(z / T)`` per row of ``(B, C)`` logits, max-shifted, in float64 (NaN rows as PyTorch)."""
    from ce_cli.log_sum_exp import log_softmax

    z = np.asarray(logits, dtype=np.float64)
    if temperature != 1.0:
        z = z / temperature
    if z.size == 0:
        return z
    return log_softmax(z, axis=-1)  # m + log1p(sum of the rest): a confident row's log p keeps its digits


def teacher_log_probs(values: Any, form: TeacherForm, temperature: float) -> Float64Array:
    """The teacher's ``log p_T`` from its rows in ``form`` (probabilities: their log, 0 at 0 giving -inf)."""
    if form == "logits":
        return softened_log_probs(values, temperature)
    v = np.asarray(values, dtype=np.float64)
    if form == "log_probabilities":
        return v
    with np.errstate(divide="ignore", invalid="ignore"):
        logged: Float64Array = np.log(v)
    return logged


def kl_rows(log_p: Float64Array, log_q: Float64Array) -> Float64Array:
    """``KL(p || q) = sum_c p (log p - log q)`` per row; 0 where ``p == 0``."""
    p = np.exp(log_p)
    with np.errstate(invalid="ignore"):
        terms = np.where(p == 0.0, 0.0, p * (log_p - log_q))
    out: Float64Array = np.sum(terms, axis=-1)
    return out


def divergence_rows(log_t: Float64Array, log_s: Float64Array, divergence: Divergence) -> Float64Array:
    """``D(p_t, p_s)`` per row of ``(B, C)`` log-probabilities (see the module docstring)."""
    if divergence == "forward_kl":
        return kl_rows(log_t, log_s)
    if divergence == "reverse_kl":
        return kl_rows(log_s, log_t)
    with np.errstate(invalid="ignore"):
        log_m = np.logaddexp(log_t, log_s) - np.log(2.0)
    out: Float64Array = 0.5 * (kl_rows(log_t, log_m) + kl_rows(log_s, log_m))
    return out


def entropy_rows(log_p: Float64Array) -> Float64Array:
    """``H(p) = -sum_c p log p`` per row; 0 log 0 = 0."""
    p = np.exp(log_p)
    with np.errstate(invalid="ignore"):
        out: Float64Array = -np.sum(np.where(p == 0.0, 0.0, p * log_p), axis=-1)
    return out


def cross_entropy_rows(log_t: Float64Array, log_s: Float64Array) -> Float64Array:
    """The soft-target cross-entropy ``H(p_t, p_s) = -sum_c p_t log p_s = KL(p_t || p_s) + H(p_t)``."""
    p = np.exp(log_t)
    with np.errstate(invalid="ignore"):
        out: Float64Array = -np.sum(np.where(p == 0.0, 0.0, p * log_s), axis=-1)
    return out


def sparse_log_probs(
    student_logits: Float64Array,
    teacher_values: Float64Array,
    indices: np.ndarray,
    form: TeacherForm,
    temperature: float,
    convention: Literal["renormalize", "rest"],
) -> tuple[Float64Array, Float64Array]:
    """``(log p_t, log p_s)`` over a top-k teacher's support, ``(B, k)`` (renormalize) or ``(B, k + 1)`` (rest).

    ``teacher_values``: ``(B, k)`` the teacher's values at ``indices`` (``(B, k)`` class indices).

    - ``renormalize``: both distributions renormalised over the k classes (the teacher's values, in
      any form, and the student's softened logits at the same classes);
    - ``rest``: a (k + 1)-th bucket holds the mass each misses: ``1 - sum`` of the teacher's k
      probabilities (the teacher's values must then be probabilities or log-probabilities of the whole
      distribution) and of the student's softmax over all C classes at the k classes.
    """
    log_s_all = softened_log_probs(student_logits, temperature)
    log_s_k = np.take_along_axis(log_s_all, indices, axis=-1)
    if convention == "renormalize":
        if form == "logits":
            log_t = softened_log_probs(teacher_values, temperature)
        else:
            log_t = softened_log_probs(teacher_log_probs(teacher_values, form, 1.0), 1.0)  # renormalised
        return log_t, softened_log_probs(log_s_k, 1.0)
    log_t_k = teacher_log_probs(teacher_values, form, temperature)
    with np.errstate(divide="ignore", invalid="ignore"):
        rest_t = np.log(np.clip(-np.expm1(np.logaddexp.reduce(log_t_k, axis=-1)), 0.0, None))
        rest_s = np.log(np.clip(-np.expm1(np.logaddexp.reduce(log_s_k, axis=-1)), 0.0, None))
    return (
        np.concatenate([log_t_k, rest_t[:, None]], axis=-1),
        np.concatenate([log_s_k, rest_s[:, None]], axis=-1),
    )
