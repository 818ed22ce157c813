"""Which bin each confidence goes to: torchmetrics' uniform bins, or scikit-learn's equal-mass ones.

- ``uniform`` (torchmetrics ``_binning_bucketize``): the boundaries are ``torch.linspace(0, 1, n + 1)``
  in the confidences' dtype (:func:`torch_boundaries`), and a confidence ``c`` goes to bin
  ``bucketize(c, boundaries, right=True) - 1``: a confidence on an edge goes to the bin above it, and
  one of exactly 1 to an (n + 1)-th bin of its own. That dtype is float32 for the multiclass metric
  (it bins ``confidences.float()``) and the predictions' own for the binary one, so the bin is chosen
  on the confidence rounded to it (``precision``): a float64 confidence a few ulp below an edge goes
  above it in float32, there and here.
- ``quantile`` (scikit-learn ``calibration_curve(strategy="quantile")``): the edges are the
  ``0, 1/n, ..., 1`` quantiles of the confidences (``np.percentile``), and ``c`` goes to bin
  ``searchsorted(edges[1:-1], c)``: a confidence on an inner edge goes to the bin below it. Each bin
  then holds about the same number of samples; the edges depend on every confidence, so these bins do
  not merge over shards.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

import numpy as np

from ce_cli.array_types import Float64Array, IndexArray

Binning = Literal["uniform", "quantile"]
Precision = Literal[32, 64]
BINNINGS: tuple[Binning, ...] = ("uniform", "quantile")
DEFAULT_BINS = 15  # torchmetrics' n_bins


def torch_boundaries(n: int, precision: Precision = 32) -> Float64Array:
    """``torch.linspace(0, 1, n + 1)`` in float32 or float64, exactly (as float64 values), ``n >= 1``.

    PyTorch's CPU kernel (``aten/src/ATen/native/cpu/RangeFactoriesKernel.cpp``) computes
    ``step = 1 / n`` in the dtype, ``step * i`` below the halfway index and ``1 - step * (n - i)``
    from it on, the latter as one fused multiply-add (a single rounding); tests check these against
    values PyTorch made.
    """
    steps = n + 1
    index = np.arange(steps)
    if precision == 32:
        step = np.float32(1.0) / np.float32(n)
        low = step * index.astype(np.float32)
        high = (1.0 - np.float64(step) * (n - index)).astype(np.float32)  # exact in float64, rounded once
        return np.where(index < steps // 2, low, high).astype(np.float64)
    step64 = 1.0 / n
    exact = Fraction(step64)
    values = [step64 * i if i < steps // 2 else float(1 - exact * (n - i)) for i in range(steps)]  # rounded once
    return np.array(values, dtype=np.float64)


def bin_edges(confidence: Float64Array, n: int, binning: Binning, precision: Precision = 32) -> Float64Array:
    """The ``n + 1`` edges of ``n`` bins (see the module docstring); ``uniform`` does not read ``confidence``."""
    if binning == "uniform":
        return torch_boundaries(n, precision)
    if not len(confidence):
        return np.linspace(0.0, 1.0, n + 1)
    # sklearn's very expression: np.linspace(0, 100, n + 1) rounds some quantiles differently, and an edge that
    # lands on a confidence then moves it to the other bin
    edges: Float64Array = np.percentile(confidence, np.linspace(0.0, 1.0, n + 1) * 100)
    return edges


def bin_index(confidence: Float64Array, edges: Float64Array, binning: Binning, precision: Precision = 32) -> IndexArray:
    """Each confidence's bin: ``0 .. n`` for ``uniform`` (``n``: exactly 1, and NaN), ``0 .. n - 1`` for
    ``quantile``."""
    n = len(edges) - 1
    if binning == "uniform":
        dtype = np.float32 if precision == 32 else np.float64  # torchmetrics' confidences.float(), or their own
        index: IndexArray = np.searchsorted(edges.astype(dtype), confidence.astype(dtype), side="right") - 1
        return np.clip(index, 0, n)
    found: IndexArray = np.searchsorted(edges[1:-1], confidence)
    return np.clip(found, 0, n - 1)
