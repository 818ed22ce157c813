"""Results computed apart, merged: the statistics under ``state`` of ``compute -f json`` results.

Pure Python, no printing. Each result's :class:`~ce_cli.accumulators.LossStats`
is merged with the others exactly (sums and counts), so pooling shards, machines
or days gives what ``compute`` on their concatenation gives, for every key that
merges; keys that need the per-sample losses (quantiles, ``losses``, ``worst``,
ranks, per-sequence rows) are left out and listed in ``not_pooled``.
"""

from __future__ import annotations

import json
import math

from ce_cli.accumulators import LossStats, MergeError
from ce_cli.errors import InputError
from ce_cli.records import frozen

NOT_POOLED = ("losses", "quantiles", "worst", "ranks", "per_sequence", "ids", "temperature", "ece_ci")


class PoolMismatchError(InputError):
    """Two results that cannot be pooled: ``first`` and ``other`` name them, ``what`` differs."""

    def __init__(self, first: str, other: str, error: MergeError) -> None:
        super().__init__(f"{first} and {other} cannot be pooled: {error}")
        self.first, self.other, self.what = first, other, error.what


@frozen
class Result:
    """One result to pool: how messages name it, its statistics, and their family."""

    label: str
    stats: LossStats

    @property
    def family(self) -> str:
        return str(self.stats.meta.get("family", ""))

    @property
    def finite(self) -> bool:
        return math.isfinite(self.stats.numerator.value())


def parse_results(text: str, label: str) -> list[Result]:
    """The results in a text: one JSON object, or one per line (JSON Lines), each as ``compute -f json``
    writes it.

    Raises:
        InputError: no JSON object, or one without ``state``.
    """
    try:
        values = [json.loads(text)]
    except json.JSONDecodeError:
        try:
            values = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as error:
            raise InputError(f"{label} is not JSON: {error}") from None
    if not values:
        raise InputError(f"{label} holds no result")
    results = []
    for number, value in enumerate(values, start=1):
        name = label if len(values) == 1 else f"{label} (result {number})"
        if not isinstance(value, dict) or "state" not in value:
            raise InputError(f"{name} has no 'state': pool merges results written by compute -f json")
        try:
            results.append(Result(name, LossStats.from_json(value["state"])))
        except InputError as error:
            raise InputError(f"{name}: {error}") from None
    return results


@frozen
class Pooled:
    """The merged whole: its statistics, how many results made it, and what was left out.

    Attributes:
        stats: the merged statistics.
        count: results merged.
        non_finite: the results whose numerator is NaN or infinite (merged unless skipped).
        skipped_samples: samples of the results left out (``skip_nonfinite``).
    """

    stats: LossStats
    count: int
    non_finite: tuple[Result, ...]
    skipped_samples: int


def pool(results: list[Result], *, skip_nonfinite: bool = False) -> Pooled:
    """Merge ``results`` (at least one), in their order (the merge is exact, so any order gives the same).

    Raises:
        PoolMismatchError: two results of different families, formulas, reductions, weights, classes or
            ce-loss versions. InputError: every result was left out.
    """
    non_finite = tuple(r for r in results if not r.finite)
    kept = [r for r in results if r.finite] if skip_nonfinite else results
    if not kept:
        raise InputError("every result has a non-finite numerator, and all were left out: nothing to pool")
    first = kept[0]
    total = first.stats
    for result in kept[1:]:
        try:
            total = total.merge(result.stats)
        except MergeError as error:
            raise PoolMismatchError(first.label, result.label, error) from None
    skipped = sum(r.stats.samples for r in non_finite) if skip_nonfinite else 0
    return Pooled(total, len(kept), non_finite, skipped)
