"""Statistics that merge: sums and counts kept so that blocks, threads, shards and runs combine exactly.

Pure numpy and Python integers, no I/O. :class:`ExactSum` holds a sum of float64
values exactly (an integer multiple of 2**-1074, the smallest subnormal, which
every float64 is), so ``update`` and ``merge`` are associative and commutative
to the last bit, and :meth:`ExactSum.value` rounds once: the correctly rounded
sum, whatever the split and the order. (numpy's pairwise ``sum`` over one array,
which ``compute`` prints, is within ``~log2(n) * 2**-53 * sum|x|`` of it.)
:class:`LossStats` gathers every mergeable statistic of a result; ``compute
-f json`` carries it under ``state``, and ``ce-loss pool`` merges such states.
Quantiles and ``--worst`` need the per-sample losses themselves: they are not
accumulated, and ``pool`` leaves them out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from ce_cli.errors import InputError

if TYPE_CHECKING:
    from ce_cli.calibration.sums import BinSums

SCALE = 1074  # every finite float64 is an integer multiple of 2**-1074
_HALF = 26  # mantissas are summed in two halves of < 2**27, exact in float64 for up to 2**26 values
_CHUNK = 1 << 24


class MergeError(InputError):
    """Results that cannot be merged: ``what`` differs (``mine`` against ``theirs``)."""

    def __init__(self, what: str, mine: Any, theirs: Any) -> None:
        super().__init__(f"their {what} differ ({mine!r} against {theirs!r})")
        self.what, self.mine, self.theirs = what, mine, theirs


@dataclass
class ExactSum:
    """The exact sum of float64 values: ``scaled * 2**-1074``, and how many NaN, +inf and -inf were added."""

    scaled: int = 0
    nan: int = 0
    pos_inf: int = 0
    neg_inf: int = 0

    def update(self, values: ArrayLike) -> ExactSum:
        """Add every value of ``values`` (any shape), exactly; returns ``self``."""
        flat = np.asarray(values, dtype=np.float64).reshape(-1)
        for start in range(0, flat.size, _CHUNK):
            self._add(flat[start : start + _CHUNK])
        return self

    def _add(self, v: np.ndarray) -> None:
        finite = np.isfinite(v)
        if not finite.all():
            self.nan += int(np.count_nonzero(np.isnan(v)))
            self.pos_inf += int(np.count_nonzero(v == np.inf))
            self.neg_inf += int(np.count_nonzero(v == -np.inf))
            v = v[finite]
        v = v[v != 0.0]
        if v.size == 0:
            return
        mantissa, exponent = np.frexp(v)  # v = mantissa * 2**exponent, 0.5 <= |mantissa| < 1
        whole = np.abs(mantissa * 2.0**53).astype(np.int64)  # v = +-whole * 2**(exponent - 53)
        lowest = int(exponent.min())
        group = (exponent - lowest).astype(np.intp)  # one bin per exponent: no sort
        bins = int(group.max()) + 1
        for sign, chosen in ((1, mantissa > 0), (-1, mantissa < 0)):
            where, part = group[chosen], whole[chosen]
            if where.size == 0:
                continue
            high = np.bincount(where, weights=(part >> _HALF).astype(np.float64), minlength=bins)
            low = np.bincount(where, weights=(part & ((1 << _HALF) - 1)).astype(np.float64), minlength=bins)
            for offset in np.flatnonzero((high != 0) | (low != 0)).tolist():
                total = (int(high[offset]) << _HALF) + int(low[offset])
                shift = lowest + offset - 53 + SCALE
                self.scaled += sign * (total << shift if shift >= 0 else total >> -shift)

    def merge(self, other: ExactSum) -> ExactSum:
        """The sum of both, exactly (a new sum)."""
        return ExactSum(
            self.scaled + other.scaled, self.nan + other.nan, self.pos_inf + other.pos_inf, self.neg_inf + other.neg_inf
        )

    def value(self) -> float:
        """The correctly rounded sum; NaN where a NaN, or both infinities, were added (IEEE)."""
        if self.nan or (self.pos_inf and self.neg_inf):
            return math.nan
        if self.pos_inf or self.neg_inf:
            return math.inf if self.pos_inf else -math.inf
        try:
            return self.scaled / (1 << SCALE)  # Python's int division is correctly rounded
        except OverflowError:
            return math.inf if self.scaled > 0 else -math.inf

    def json(self) -> dict[str, Any]:
        """The exact state: the sum as ``m * 2**e`` (``m`` an odd integer in hexadecimal, or 0), and the counts
        of non-finite values."""
        zeros = (self.scaled & -self.scaled).bit_length() - 1 if self.scaled else 0
        return {
            "m": hex(self.scaled >> zeros),
            "e": zeros - SCALE,
            "nan": self.nan,
            "inf": self.pos_inf,
            "-inf": self.neg_inf,
        }

    @classmethod
    def from_json(cls, value: Any) -> ExactSum:
        """The sum :meth:`json` wrote.

        Raises:
            InputError: not such a state.
        """
        try:
            shift = int(value["e"]) + SCALE
            if not 0 <= shift <= 4 * SCALE:
                raise ValueError(shift)
            scaled = int(value["m"], 16) << shift
            return cls(scaled, int(value["nan"]), int(value["inf"]), int(value["-inf"]))
        except (KeyError, TypeError, ValueError):
            raise InputError("an exact sum must be {m, e, nan, inf, -inf} as compute -f json writes it") from None


@dataclass
class ClassSums:
    """Per class (or label): how many samples, their loss sum, how many were predicted right, positives."""

    count: int = 0
    loss: ExactSum = field(default_factory=ExactSum)
    hits: int = 0
    positives: int = 0

    def merge(self, other: ClassSums) -> ClassSums:
        return ClassSums(
            self.count + other.count,
            self.loss.merge(other.loss),
            self.hits + other.hits,
            self.positives + other.positives,
        )


@dataclass
class LossStats:
    """Every mergeable statistic of one result.

    Attributes:
        meta: what must agree for two results to merge (family, formula, reduction, classes, weights,
            ignore index, smoothing, clipping, ce-loss version).
        samples: per-sample losses (elements for the binary family), ignored ones included.
        ignored: samples whose target is the ignore index.
        counted: samples that count.
        hits: counted samples predicted right (accuracy = hits / counted).
        numerator, denominator: the mean's, as the family defines them.
        top_k: for each K, the counted samples whose target ranks at most K; ``None`` if not asked for.
        classes: per class (label), its sums; ``None`` if not asked for.
        calibration: the calibration's per-bin sums (uniform bins); ``None`` if not asked for.
    """

    meta: dict[str, Any]
    samples: int = 0
    ignored: int = 0
    counted: int = 0
    hits: int = 0
    numerator: ExactSum = field(default_factory=ExactSum)
    denominator: ExactSum = field(default_factory=ExactSum)
    top_k: dict[int, int] | None = None
    classes: dict[int, ClassSums] | None = None
    calibration: BinSums | None = None

    def merge(self, other: LossStats) -> LossStats:
        """Both results' statistics as one (associative, exact).

        Raises:
            MergeError: their ``meta`` differ, or one has top-k or per-class sums the other lacks.
        """
        for key in sorted(set(self.meta) | set(other.meta)):
            if self.meta.get(key) != other.meta.get(key):
                raise MergeError(key, self.meta.get(key), other.meta.get(key))
        if (self.top_k is None) != (other.top_k is None) or (
            self.top_k is not None and other.top_k is not None and set(self.top_k) != set(other.top_k)
        ):
            raise MergeError("top-k", _keys(self.top_k), _keys(other.top_k))
        if (self.classes is None) != (other.classes is None):
            raise MergeError("per-class sums", self.classes is not None, other.classes is not None)
        if (self.calibration is None) != (other.calibration is None):
            asked = ("--calibration", "no --calibration")
            raise MergeError("calibration options", *(asked[c is None] for c in (self.calibration, other.calibration)))
        top_k = None
        if self.top_k is not None and other.top_k is not None:
            top_k = {k: self.top_k[k] + other.top_k[k] for k in self.top_k}
        classes = None
        if self.classes is not None and other.classes is not None:
            classes = dict(self.classes)
            for c, sums in other.classes.items():
                classes[c] = classes[c].merge(sums) if c in classes else sums
        return LossStats(
            self.meta,
            self.samples + other.samples,
            self.ignored + other.ignored,
            self.counted + other.counted,
            self.hits + other.hits,
            self.numerator.merge(other.numerator),
            self.denominator.merge(other.denominator),
            top_k,
            classes,
            None
            if self.calibration is None or other.calibration is None
            else self.calibration.merge(other.calibration),
        )

    @property
    def mean(self) -> float:
        """``numerator / denominator``, IEEE: NaN for 0/0 or a NaN numerator."""
        numerator, denominator = self.numerator.value(), self.denominator.value()
        if denominator == 0.0:
            return math.nan if numerator == 0.0 or math.isnan(numerator) else math.copysign(math.inf, numerator)
        return numerator / denominator

    def headline(self) -> tuple[float, float, float]:
        """``(mean, sum, value)``: the value the reduction in ``meta`` makes the headline (``sum`` or ``mean``)."""
        mean, total = self.mean, self.numerator.value()
        return mean, total, total if self.meta.get("reduction") == "sum" else mean

    @property
    def accuracy(self) -> float:
        return self.hits / self.counted if self.counted else math.nan

    def json(self) -> dict[str, Any]:
        """The state ``compute -f json`` writes under ``state``."""
        out: dict[str, Any] = {
            "meta": self.meta,
            "samples": self.samples,
            "ignored": self.ignored,
            "counted": self.counted,
            "hits": self.hits,
            "numerator": self.numerator.json(),
            "denominator": self.denominator.json(),
        }
        if self.top_k is not None:
            out["top_k"] = {str(k): v for k, v in sorted(self.top_k.items())}
        if self.classes is not None:
            ordered = sorted(self.classes.items())
            out["classes"] = {
                "class": [c for c, _ in ordered],
                "count": [s.count for _, s in ordered],
                "loss": [s.loss.json() for _, s in ordered],
                "hits": [s.hits for _, s in ordered],
                "positives": [s.positives for _, s in ordered],
            }
        if self.calibration is not None:
            out["calibration"] = self.calibration.json()
        return out

    @classmethod
    def from_json(cls, value: Any) -> LossStats:
        """The state :meth:`json` wrote.

        Raises:
            InputError: not such a state.
        """
        try:
            top_k = None if "top_k" not in value else {int(k): int(v) for k, v in value["top_k"].items()}
            classes = None
            if "classes" in value:
                c = value["classes"]
                classes = {
                    int(label): ClassSums(int(n), ExactSum.from_json(loss), int(h), int(p))
                    for label, n, loss, h, p in zip(
                        c["class"], c["count"], c["loss"], c["hits"], c["positives"], strict=True
                    )
                }
            return cls(
                dict(value["meta"]),
                int(value["samples"]),
                int(value["ignored"]),
                int(value["counted"]),
                int(value["hits"]),
                ExactSum.from_json(value["numerator"]),
                ExactSum.from_json(value["denominator"]),
                top_k,
                classes,
                None if "calibration" not in value else _bin_sums(value["calibration"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise InputError("its state is not one compute -f json writes") from None


def _merged_bins(mine: BinSums | None, theirs: BinSums | None) -> BinSums | None:
    return None if mine is None or theirs is None else mine.merge(theirs)


def _bin_sums(value: Any) -> BinSums:
    from ce_cli.calibration.sums import BinSums

    return BinSums.from_json(value)


def _keys(top_k: dict[int, int] | None) -> list[int] | None:
    return None if top_k is None else sorted(top_k)


def class_sums(
    labels: np.ndarray, losses: np.ndarray, hits: np.ndarray, positives: np.ndarray | None = None
) -> dict[int, ClassSums]:
    """Per label of ``labels`` (a block's class of each sample), the count, exact loss sum, hits, positives."""
    out: dict[int, ClassSums] = {}
    if labels.size == 0:
        return out
    classes, inverse = np.unique(labels, return_inverse=True)
    inverse = inverse.reshape(-1)
    counts = np.bincount(inverse, minlength=classes.size)
    right = np.bincount(inverse, weights=hits.astype(np.float64), minlength=classes.size)
    plus = (
        np.zeros(classes.size) if positives is None else np.bincount(inverse, weights=positives, minlength=classes.size)
    )
    order = np.argsort(inverse, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(counts)])
    sorted_losses = losses[order]
    for i, c in enumerate(classes.tolist()):
        loss = ExactSum().update(sorted_losses[bounds[i] : bounds[i + 1]])
        out[int(c)] = ClassSums(int(counts[i]), loss, int(right[i]), int(plus[i]))
    return out
