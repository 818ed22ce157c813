"""Per-sample ``KL(p_baseline || p_new)`` between two models' softmax distributions. Pure numpy.

For one row of logits ``b`` (baseline) and ``x`` (new), with ``m_b = max b``, ``m_x = max x``,
``S_b = sum exp(b - m_b)``, ``S_x = sum exp(x - m_x)`` (max-shifted, never ``log(softmax)``)::

    KL = sum_c p_b,c (log p_b,c - log p_x,c)
       = sum_c exp(b_c - m_b) ((b_c - m_b) - (x_c - m_x)) / S_b + log1p((S_x - S_b) / S_b)

where classes with ``p_b,c = 0`` (``b_c = -inf``) add nothing, also where ``x_c = -inf``, and a class
the baseline gives mass but NEW does not (``x_c = -inf``) makes it infinite. Rounding can leave a KL of a few
ulp below 0 for identical rows; it is reported as 0. The llama.cpp ``--kl-divergence`` statistics use
the same direction: the reference model's distribution first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ce_cli.array_types import Float64Array
from ce_cli.blocks import run_blocks


def kl_rows(baseline: Any, new: Any) -> Float64Array:
    """``KL(softmax(baseline) || softmax(new))`` per row of two ``(B, C)`` blocks of logits, in float64."""
    b = np.asarray(baseline, dtype=np.float64)
    x = np.asarray(new, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        m_b = np.max(b, axis=1, keepdims=True)
        m_x = np.max(x, axis=1, keepdims=True)
        e_b = np.exp(b - m_b)
        e_x = np.exp(x - m_x)
        # (b - m_b) - (x - m_x) is 0 at a class that is both rows' maximum: a confident row keeps its KL
        # p_b = 0 adds nothing; a class with p_b > 0 (even below exp's range) where p_x = 0 makes it infinite
        steps = np.where(b == -np.inf, 0.0, np.where(x == -np.inf, np.inf, e_b * ((b - m_b) - (x - m_x))))
        top_b, top_x = b == m_b, x == m_x
        s_b = np.sum(top_b, axis=1) + np.sum(np.where(top_b, 0.0, e_b), axis=1)
        difference = (np.sum(top_x, axis=1) - np.sum(top_b, axis=1)) + (
            np.sum(np.where(top_x, 0.0, e_x), axis=1) - np.sum(np.where(top_b, 0.0, e_b), axis=1)
        )
        kl: Float64Array = np.sum(steps, axis=1) / s_b + np.log1p(difference / s_b)
        kl = np.where(np.isfinite(m_b[:, 0]) & np.isfinite(m_x[:, 0]), kl, np.nan)
    return np.maximum(kl, 0.0)  # NaN stays NaN


RowStats = tuple[Float64Array, Float64Array]
"""Each row's maximum and ``log Σ_j exp(x_j - max)``, ``(M,)`` each, as the compiled ``index_losses`` keeps them."""


def kl_per_sample(
    new_rows: Any,
    baseline_rows: Any,
    *,
    progress: Callable[[int], None] | None = None,
    known: tuple[RowStats, RowStats] | None = None,
) -> Float64Array:
    """``KL(p_baseline || p_new)`` of every row of two ``(M, C)`` row sets (files are read block by block), by
    the compiled kernel where it is active (:func:`ce_cli.native.active`), else by :func:`kl_rows`.

    ``known``: each model's :data:`RowStats` ``(new, baseline)``, from ``compute``: the compiled kernel then
    needs one exp per class, not two, since ``KL = Σ_c p_b,c (z_b,c - z_x,c) + (lse_x - lse_b)`` with the
    max-shifted ``z`` (the same sums as :func:`kl_rows`, the log of ``S_x / S_b`` from the known ``lse``).
    """
    from ce_cli.native import active

    out = np.empty(new_rows.shape[0])
    kernel = active()
    native = kernel.native and kernel.module is not None and hasattr(kernel.module, "kl_rows")
    reuse = known is not None and native and hasattr(kernel.module, "kl_known")

    def one_block(start: int, stop: int) -> None:
        base, new = np.asarray(baseline_rows[start:stop]), np.asarray(new_rows[start:stop])
        if native and base.dtype.kind == new.dtype.kind == "f" and base.dtype.itemsize >= 2:
            assert kernel.module is not None
            if reuse:
                assert known is not None
                (max_new, lse_new), (max_base, lse_base) = known
                part = slice(start, stop)
                kernel.module.kl_known(
                    kernel.index, base, new, max_base[part], lse_base[part], max_new[part], lse_new[part], out[part]
                )
            else:
                kernel.module.kl_rows(kernel.index, base, new, 1.0, out[start:stop])  # the same formula, compiled
        else:
            out[start:stop] = kl_rows(base, new)

    for _ in run_blocks(new_rows, one_block, progress=progress):
        pass
    return out


def kl_from_cross(cross_ratio: Float64Array, known: tuple[RowStats, RowStats]) -> Float64Array:
    """``KL(p_baseline || p_new)`` per row from the baseline's cross ratios (made in its own pass beside the new
    model's rows, :attr:`ce_cli.families.softmax.losses.Losses.cross_ratio`) and each model's
    :data:`RowStats` ``(new, baseline)``: ``cross_ratio + (lse_new - lse_baseline)``, with the rules of
    :func:`kl_per_sample` (NaN where a maximum or a log-sum-exp is not finite, rounding below 0 as 0)."""
    (max_new, lse_new), (max_base, lse_base) = known
    with np.errstate(invalid="ignore", over="ignore"):
        kl: Float64Array = cross_ratio + (lse_new - lse_base)
        finite = np.isfinite(max_new) & np.isfinite(lse_new) & np.isfinite(max_base) & np.isfinite(lse_base)
    return np.maximum(np.where(finite, kl, np.nan), 0.0)  # NaN stays NaN
