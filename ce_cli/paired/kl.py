"""Per-sample ``KL(p_baseline || p_new)`` between two models' softmax distributions. Pure numpy.

For one row of logits ``b`` (baseline) and ``x`` (new), with ``m_b = max b``, ``m_x = max x``,
``S_b = sum exp(b - m_b)``, ``S_x = sum exp(x - m_x)`` (max-shifted, never ``log(softmax)``)::

    KL = sum_c p_b,c (log p_b,c - log p_x,c)
       = sum_c exp(b_c - m_b) (b_c - x_c) / S_b - (m_b - m_x) - log S_b + log S_x

where classes with ``p_b,c = 0`` add nothing (also where ``x_c = -inf``), and a class the baseline
gives mass but NEW does not (``x_c = -inf``) makes it infinite. Rounding can leave a KL of a few
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
        s_b = np.sum(e_b, axis=1)
        s_x = np.sum(np.exp(x - m_x), axis=1)
        cross = np.sum(np.where(e_b > 0.0, e_b * (b - x), 0.0), axis=1)
        kl: Float64Array = cross / s_b - (m_b[:, 0] - m_x[:, 0]) - np.log(s_b) + np.log(s_x)
    return np.maximum(kl, 0.0)  # NaN stays NaN


def kl_per_sample(new_rows: Any, baseline_rows: Any, *, progress: Callable[[int], None] | None = None) -> Float64Array:
    """``KL(p_baseline || p_new)`` of every row of two ``(M, C)`` row sets (files are read block by block)."""
    out = np.empty(new_rows.shape[0])

    def one_block(start: int, stop: int) -> None:
        out[start:stop] = kl_rows(baseline_rows[start:stop], new_rows[start:stop])

    for _ in run_blocks(new_rows, one_block, progress=progress):
        pass
    return out
