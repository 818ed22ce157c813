"""ECE, RMSCE, MCE, the Brier score and the reliability table, from merged bin sums (definitions:
:mod:`ce_cli.calibration`)."""

from __future__ import annotations

import math

import numpy as np

from ce_cli.array_types import Float64Array
from ce_cli.calibration.sums import BinSums
from ce_cli.records import frozen


@frozen
class BinRow:
    """One non-empty bin of the reliability table: its range, count, mean confidence and accuracy."""

    low: float
    high: float
    count: int
    confidence: float
    accuracy: float

    @property
    def gap(self) -> float:
        """``accuracy - confidence``: below 0, the model is over-confident in this bin."""
        return self.accuracy - self.confidence


@frozen
class Calibration:
    """The calibration statistics of :class:`BinSums` (``ece_ci``: the bootstrap interval, where asked)."""

    sums: BinSums
    ece_ci: tuple[float, float] | None = None
    resamples: int = 0
    seed: int = 0

    def _per_bin(self) -> tuple[Float64Array, Float64Array, Float64Array]:
        """Mean confidence, accuracy and share per bin; 0 for an empty bin, as torchmetrics' nan_to_num.
        A NaN confidence keeps its bin's mean NaN (torchmetrics would make it 0)."""
        count = np.array(self.sums.count, dtype=np.float64)
        total = float(np.sum(count))
        sums = np.array([s.value() for s in self.sums.confidence])
        with np.errstate(invalid="ignore", divide="ignore"):
            confidence = np.where(count > 0, sums / count, 0.0)
            accuracy = np.where(count > 0, np.array(self.sums.hits) / count, 0.0)
            share = count / total if total else np.full_like(count, math.nan)
        return confidence, accuracy, share

    @property
    def n_samples(self) -> int:
        return self.sums.samples

    @property
    def ece(self) -> float:
        confidence, accuracy, share = self._per_bin()
        return float(np.sum(np.abs(accuracy - confidence) * share))

    @property
    def rmsce(self) -> float:
        confidence, accuracy, share = self._per_bin()
        value = float(np.sum((accuracy - confidence) ** 2 * share))
        return math.sqrt(value) if value > 0 else (0.0 if value == 0 else math.nan)

    @property
    def mce(self) -> float:
        if not self.n_samples:
            return math.nan
        confidence, accuracy, _ = self._per_bin()
        return float(np.max(np.abs(accuracy - confidence)))

    @property
    def brier(self) -> float:
        n = self.n_samples
        if not n:
            return math.nan
        value = self.sums.brier.value() / n
        return value * 0.5 if self.sums.halve_brier else value

    def rows(self) -> list[BinRow]:
        """One row per non-empty bin (the uniform bins' last one, for a confidence of exactly 1, spans [1, 1])."""
        confidence, accuracy, _ = self._per_bin()
        edges = self.sums.edges
        out = []
        for b, n in enumerate(self.sums.count):
            if n:
                low = edges[b] if b < len(edges) - 1 else edges[-1]
                high = edges[b + 1] if b + 1 < len(edges) else edges[-1]
                out.append(BinRow(low, high, n, float(confidence[b]), float(accuracy[b])))
        return out
