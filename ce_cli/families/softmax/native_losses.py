"""Index-target losses by the compiled kernel alone, one model or two side by side. Pure numpy (plus the kernel).

:func:`ce_cli.families.softmax.losses.evaluate` runs :func:`native_losses` where the kernel applies (index
targets, no label smoothing); ``ce-loss diff`` runs :func:`native_pair`: each block of NEW's rows, then the
baseline's block with NEW's beside it in memory, so that each file is read once and the baseline's pass
makes the KL's sums with the exponentials its own loss takes (:attr:`Losses.cross_ratio`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ce_cli.array_types import Float64Array
from ce_cli.blocks import NATIVE_CHUNK_BYTES, native_chunk_bytes, run_blocks
from ce_cli.families.softmax.inputs import ValidatedInputs
from ce_cli.families.softmax.losses import Losses, check_target_range
from ce_cli.log_sum_exp import nan_ranked
from ce_cli.native import Kernel
from ce_cli.row_checks import NO_ROWS, RowChecks, check_rows

BlockTotals = tuple[float, RowChecks, bool]
"""One block's denominator, row checks, and whether the kernel made its cross ratios."""


class _NativeRun:
    """One model's output arrays, filled block by block by the kernel's ``index_losses``.

    The kernel writes each block's results into them directly (one allocation each, no joining), with
    the weights and ignored targets applied as :func:`ce_cli.families.softmax.weighting.weighted_losses`
    applies them. The fused and the two-step formulas give the same ``z[t] - lse_z`` here (``log_softmax``
    is only read at the target), so both run this way.
    """

    def __init__(
        self, kernel: Kernel, inputs: ValidatedInputs, *, predictions: bool, ranks: bool, row_stats: bool, cross: bool
    ) -> None:
        count = inputs.num_samples
        self.kernel, self.inputs = kernel, inputs
        self.per_sample = np.empty(count)
        # Unweighted, the loss is exactly -log p[t] where it counts: log p is then made per block and not kept.
        self.log_prob = None if inputs.weight is None else np.empty(count)
        self.is_max = np.empty(count, dtype=np.bool_)
        self.predicted = np.empty(count, dtype=np.int64) if predictions else None
        self.rank = np.empty(count, dtype=np.int64) if ranks else None
        self.targets = np.ascontiguousarray(inputs.targets, dtype=np.int64)
        self.kept = (np.empty(count), np.empty(count)) if row_stats else None  # each row's maximum and lse
        self.weight = None if inputs.weight is None else np.ascontiguousarray(inputs.weight, dtype=np.float64)
        self.cross = np.empty(count) if cross else None

    def block(self, start: int, stop: int, x: Any, beside: Any = None, beside_max: Any = None) -> BlockTotals:
        """Rows ``start:stop`` (``x``, already read); ``beside``: the other model's rows with their maxima."""
        part, module = slice(start, stop), self.kernel.module
        assert module is not None
        maximum = None if self.kept is None else self.kept[0][part]  # else the row checks take it from x if needed
        partner = () if beside is None or self.cross is None else (beside, beside_max, self.cross[part])
        try:
            denominator, lowest, highest, non_finite, crossed = module.index_losses(
                self.kernel.index,
                x,
                self.targets[part],
                self.inputs.ignore_index,
                self.weight,
                self.per_sample[part],
                None if self.log_prob is None else self.log_prob[part],
                self.is_max[part],
                maximum,
                None if self.predicted is None else self.predicted[part],
                None if self.rank is None else self.rank[part],
                None if self.kept is None else self.kept[1][part],
                *partner,
            )
        except IndexError:  # a target out of range (inputs not made by validate_inputs): named by its whole row
            check_target_range(self.inputs)
            raise
        if self.rank is not None:
            nan_ranked(x, self.targets[part], self.rank[part])
        checks = check_rows(x, maximum, self.per_sample[part], False, (lowest, highest, non_finite))
        return float(denominator), checks, bool(crossed)

    def losses(self, totals: list[BlockTotals]) -> Losses:
        shape = self.inputs.sample_shape
        crossed = self.cross is not None and all(made for _, _, made in totals)
        return Losses(
            per_sample=self.per_sample.reshape(shape),
            denominator=float(sum(d for d, _, _ in totals)),
            target_class=self.targets.astype(np.intp, copy=False).reshape(shape),
            stored_log_prob=None if self.log_prob is None else self.log_prob.reshape(shape),
            target_is_max=self.is_max.reshape(shape),
            predicted=None if self.predicted is None else self.predicted.astype(np.intp, copy=False).reshape(shape),
            checks=sum((c for _, c, _ in totals), NO_ROWS),
            ranks=None if self.rank is None else self.rank.astype(np.intp, copy=False).reshape(shape),
            row_stats=self.kept,
            cross_ratio=self.cross if crossed else None,
        )


def native_losses(
    kernel: Kernel,
    inputs: ValidatedInputs,
    *,
    predictions: bool,
    ranks: bool,
    progress: Callable[[int], None] | None,
    row_stats: bool = False,
) -> Losses:
    """:func:`ce_cli.families.softmax.losses.evaluate` for index targets without label smoothing, by the
    compiled kernel alone (the kernel refuses a target out of range before it reads any row at its target)."""
    run = _NativeRun(kernel, inputs, predictions=predictions, ranks=ranks, row_stats=row_stats, cross=False)

    def one_block(start: int, stop: int) -> BlockTotals:
        return run.block(start, stop, inputs.rows[start:stop])

    found = run_blocks(inputs.rows, one_block, progress=progress, chunk_bytes=native_chunk_bytes(inputs.rows))
    return run.losses(list(found))


def native_pair(
    kernel: Kernel,
    new: ValidatedInputs,
    baseline: ValidatedInputs,
    *,
    predictions: bool,
    progress: Callable[[int], None] | None,
) -> tuple[Losses, Losses]:
    """Both models' :func:`native_losses` in one pass over their blocks, each with its rows' maxima and
    log-sum-exps; the baseline's with :attr:`Losses.cross_ratio` where the kernel makes it (rows of more
    than 16 adjacent classes in one dtype, with vector code), from NEW's block beside it in memory."""
    runs = [
        _NativeRun(kernel, inputs, predictions=predictions, ranks=False, row_stats=True, cross=inputs is baseline)
        for inputs in (new, baseline)
    ]

    def one_block(start: int, stop: int) -> tuple[BlockTotals, BlockTotals]:
        rows = np.asarray(new.rows[start:stop])
        first = runs[0].block(start, stop, rows)
        maxima: Float64Array = runs[0].kept[0][start:stop]  # type: ignore[index]  # row_stats=True keeps them
        return first, runs[1].block(start, stop, baseline.rows[start:stop], rows, maxima)

    found = list(run_blocks(new.rows, one_block, progress=progress, chunk_bytes=NATIVE_CHUNK_BYTES // 2))
    return runs[0].losses([a for a, _ in found]), runs[1].losses([b for _, b in found])
