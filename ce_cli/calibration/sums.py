"""Per-bin sums that merge exactly: what a block, a shard or a whole run adds to a calibration."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ce_cli.accumulators import ExactSum, MergeError
from ce_cli.array_types import BoolArray, Float64Array
from ce_cli.calibration.bins import Binning, Precision, bin_edges, bin_index
from ce_cli.errors import InputError
from ce_cli.records import frozen


@frozen
class Confidences:
    """What calibration reads of each counted sample, each ``(n,)``.

    Attributes:
        confidence: the confidence ``c_i`` (softmax: the largest probability; binary: ``p(positive)``).
        right: whether it was right (softmax: its class is the target; binary: the target is 1).
        brier: the sample's Brier term ``sum_c (y_c - p_c)^2``.
        halve_brier: two classes: scikit-learn's multiclass Brier is halved (its binary one is not).
        precision: the float width torchmetrics bins these confidences in (:mod:`ce_cli.calibration.bins`).
    """

    confidence: Float64Array
    right: BoolArray
    brier: Float64Array
    halve_brier: bool = False
    precision: Precision = 32

    def __len__(self) -> int:
        return len(self.confidence)


@dataclass
class BinSums:
    """Per bin its count, exact confidence sum and hits; with the Brier terms' exact sum and count.

    ``edges`` holds the ``n + 1`` edges of ``n`` bins; ``uniform`` has one more bin, for confidences
    of exactly 1 (:mod:`ce_cli.calibration.bins`).
    """

    binning: Binning
    edges: tuple[float, ...]
    count: list[int]
    confidence: list[ExactSum]
    hits: list[int]
    brier: ExactSum = field(default_factory=ExactSum)
    halve_brier: bool = False

    @property
    def n_bins(self) -> int:
        return len(self.edges) - 1

    @property
    def samples(self) -> int:
        return sum(self.count)

    def describe(self) -> str:
        """The bins in words, for a message: ``15 uniform bins``, and which edges where two kinds have that name."""
        if self.binning == "quantile":
            return f"{self.n_bins} quantile bins (edges from the data)"
        kind = "float32" if all(float(np.float32(e)) == e for e in self.edges) else "float64"
        return f"{self.n_bins} uniform bins ({kind} edges)"

    def merge(self, other: BinSums) -> BinSums:
        """Both as one, exactly.

        Raises:
            MergeError: their bins differ (quantile bins never merge: each run has its own edges).
        """
        if (self.binning, self.edges) != (other.binning, other.edges):
            raise MergeError("calibration bins", self.describe(), other.describe())
        if self.halve_brier != other.halve_brier:
            raise MergeError("Brier scores (two classes or more)", self.halve_brier, other.halve_brier)
        return BinSums(
            self.binning,
            self.edges,
            [a + b for a, b in zip(self.count, other.count, strict=True)],
            [a.merge(b) for a, b in zip(self.confidence, other.confidence, strict=True)],
            [a + b for a, b in zip(self.hits, other.hits, strict=True)],
            self.brier.merge(other.brier),
            self.halve_brier,
        )

    def json(self) -> dict[str, Any]:
        """The exact state, for ``compute -f json``'s ``state`` (``ce-loss pool`` merges it)."""
        return {
            "binning": self.binning,
            "edges": list(self.edges),
            "count": self.count,
            "confidence": [s.json() for s in self.confidence],
            "hits": self.hits,
            "brier": self.brier.json(),
            "halve_brier": self.halve_brier,
        }

    @classmethod
    def from_json(cls, value: Any) -> BinSums:
        """The state :meth:`json` wrote.

        Raises:
            InputError: not such a state.
        """
        try:
            binning = value["binning"]
            if binning not in ("uniform", "quantile"):
                raise ValueError(binning)
            sums = cls(
                binning,
                tuple(float(e) for e in value["edges"]),
                [int(c) for c in value["count"]],
                [ExactSum.from_json(s) for s in value["confidence"]],
                [int(h) for h in value["hits"]],
                ExactSum.from_json(value["brier"]),
                bool(value["halve_brier"]),
            )
        except (KeyError, TypeError, ValueError):
            raise InputError("its calibration state is not one compute -f json writes") from None
        if not len(sums.count) == len(sums.confidence) == len(sums.hits) == sums.n_bins + (binning == "uniform"):
            raise InputError("its calibration state has as many bins as edges allow")
        return sums


def bin_sums(samples: Confidences, n: int, binning: Binning, *, edges: Float64Array | None = None) -> BinSums:
    """The per-bin sums of ``samples`` in ``n`` bins (``edges``: given, as for the same bins after a
    temperature; else :func:`ce_cli.calibration.bins.bin_edges`)."""
    edges = bin_edges(samples.confidence, n, binning, samples.precision) if edges is None else edges
    size = n + 1 if binning == "uniform" else n
    index = bin_index(samples.confidence, edges, binning, samples.precision)
    count = np.bincount(index, minlength=size)
    hits = np.bincount(index, weights=samples.right.astype(np.float64), minlength=size)
    order = np.argsort(index, kind="stable")
    parts = np.split(samples.confidence[order], np.cumsum(count)[:-1])
    return BinSums(
        binning,
        tuple(float(e) for e in edges),
        [int(c) for c in count],
        [ExactSum().update(part) for part in parts],
        [int(h) for h in hits],
        ExactSum().update(samples.brier),
        samples.halve_brier,
    )
