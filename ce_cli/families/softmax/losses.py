"""Per-sample losses of validated inputs under one formula, evaluated block by block. Pure numpy.

One pass over the rows gives everything a result shows: the losses, the
target's log-probability, whether the target holds the row maximum, the
predicted class (on request) and the checks behind the warnings about the data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, get_args

import numpy as np

from ce_cli.array_types import BoolArray, Float64Array, IndexArray
from ce_cli.blocks import CHUNK_BYTES, NATIVE_CHUNK_BYTES, run_blocks
from ce_cli.errors import TargetError, unknown_choice
from ce_cli.families.softmax.inputs import ValidatedInputs, first_out_of_range, refuse_out_of_range
from ce_cli.families.softmax.weighting import WeightedLosses, needs_all_classes, target_classes, weighted_losses
from ce_cli.formulas import BlockLogProbs, FormulaSpec
from ce_cli.log_sum_exp import ShiftedBlock
from ce_cli.native import Kernel
from ce_cli.native import active as active_kernel
from ce_cli.native_blocks import NativeBlock, accepts, native_block, reads_dtype
from ce_cli.records import frozen
from ce_cli.row_checks import NO_ROWS, RowChecks, check_rows

Reduction = Literal["mean", "sum", "none"]
REDUCTIONS: tuple[Reduction, ...] = get_args(Reduction)


def reduction_named(name: str) -> Reduction:
    """The reduction called ``name``.

    Raises:
        OptionError: not one of ``REDUCTIONS``.
    """
    for reduction in REDUCTIONS:
        if reduction == name:
            return reduction
    raise unknown_choice("reduction", name, REDUCTIONS)


@frozen
class Losses:
    """Per-sample losses, what their mean divides by, and what the evaluation saw on the way.

    :func:`evaluate` gives per-sample arrays of the inputs' sample shape (``()``
    for unbatched input); :func:`block_losses` gives those of one block, ``(B,)``.

    Attributes:
        per_sample: float64 per-sample losses (0 where ignored).
        denominator: what the mean divides by (see :mod:`ce_cli.families.softmax.weighting`).
        target_class: the target index as given (the ignore index where
            ignored; for probabilities, their argmax).
        stored_log_prob: ``log p[target_class]`` under the formula (``log q`` for naive,
            ``log_softmax`` otherwise; meaningless where ignored), or ``None`` where it is
            ``-per_sample`` exactly (unweighted index targets), so that no copy is kept;
            read it as :attr:`target_log_prob`.
        target_is_max: whether the target's logit is its row's maximum (the
            prediction is right; a tie counts as right).
        predicted: the class with the largest logit (the first of a tie), or
            ``None`` when not asked for.
        checks: what the rows showed, for the warnings about the data.
        ranks: 1 + the number of classes whose logit is strictly greater than the
            target's (``target_class``'s), or ``None`` when not asked for.
        row_stats: each row's maximum and ``log Σ_j exp(x_j - max)``, ``(M,)`` each, where asked for
            and the compiled kernel made them (``ce-loss diff``'s KL reads them), else ``None``.
        cross_ratio: ``(M,)``, for ``ce-loss diff``'s baseline evaluated beside the new model
            (:func:`evaluate_pair`) where the compiled kernel made it in the same pass:
            ``Σ_c e_c (zb_c - zx_c) / Σ_c e_c`` per row, with ``zb = x - max x``, ``zx`` NEW's row less its
            maximum and ``e = exp(zb)``, so that ``KL(p_x || p_new) = cross_ratio + (lse_new - lse_x)``
            (:func:`ce_cli.paired.kl.kl_from_cross`); else ``None``.
    """

    per_sample: Float64Array
    denominator: float
    target_class: IndexArray
    stored_log_prob: Float64Array | None
    target_is_max: BoolArray
    predicted: IndexArray | None
    checks: RowChecks
    ranks: IndexArray | None = None
    row_stats: tuple[Float64Array, Float64Array] | None = None
    cross_ratio: Float64Array | None = None

    @property
    def target_log_prob(self) -> Float64Array:
        """``log p[target_class]`` (see :attr:`stored_log_prob`), in the sample shape."""
        if self.stored_log_prob is not None:
            return self.stored_log_prob
        negated: Float64Array = -self.per_sample
        return negated

    def target_log_prob_at(self, positions: Any) -> Float64Array:
        """``log p[target_class]`` of the samples at flat ``positions`` only (a table's rows)."""
        stored = self.per_sample if self.stored_log_prob is None else self.stored_log_prob
        values: Float64Array = stored.reshape(-1)[positions]
        return values if self.stored_log_prob is not None else -values

    @property
    def sum(self) -> float:
        """``sum(per_sample)`` (pairwise summation); NaN if it holds +inf and -inf."""
        with np.errstate(invalid="ignore", over="ignore"):
            return float(np.sum(self.per_sample))

    @property
    def mean(self) -> float:
        """``sum / denominator``; NaN when nothing counts (``0 / 0``)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return float(np.float64(self.sum) / np.float64(self.denominator))

    def headline(self, reduction: Reduction) -> float:
        """The one number for ``reduction``: the sum for ``"sum"``, else the mean (``"none"`` included)."""
        return self.sum if reduction == "sum" else self.mean

    def reduce(self, reduction: Reduction) -> float | Float64Array:
        """The value PyTorch returns for ``reduction``."""
        return self.per_sample if reduction == "none" else self.headline(reduction)


def block_terms(
    inputs: ValidatedInputs,
    formula: FormulaSpec,
    start: int,
    stop: int,
    *,
    predictions: bool = False,
    clip: float | None = None,
    ranks: bool = False,
) -> tuple[ShiftedBlock | NativeBlock, WeightedLosses]:
    """The shifted block of rows ``start:stop`` and their losses under ``formula``, with the losses' parts,
    by the compiled kernel where it runs (:mod:`ce_cli.native`), else by numpy.

    ``clip`` (for a formula that takes probabilities, see :func:`ce_cli.formulas.probability_clip`)
    clips the probabilities into ``[clip, 1 - clip]`` before the log.
    """
    classes, counted = target_classes(inputs, start, stop)
    x = inputs.rows[start:stop]
    kernel = active_kernel()
    block: ShiftedBlock | NativeBlock
    log_probs: BlockLogProbs
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        if kernel.native and accepts(x):
            block, log_probs = native_block(
                kernel, formula.binary, x, classes, argmax=predictions, clip=clip, ranks=ranks
            )
        else:
            block, log_probs = formula.block(
                x, classes, all_classes=needs_all_classes(inputs), argmax=predictions, clip=clip, ranks=ranks
            )
        return block, weighted_losses(log_probs, inputs, start, stop, classes, counted)


def block_losses(
    inputs: ValidatedInputs,
    formula: FormulaSpec,
    start: int,
    stop: int,
    *,
    predictions: bool = False,
    clip: float | None = None,
    ranks: bool = False,
) -> Losses:
    """Evaluate rows ``start:stop`` of ``inputs`` under ``formula``; arrays are ``(B,)``."""
    x = inputs.rows[start:stop]
    block, weighted = block_terms(inputs, formula, start, stop, predictions=predictions, clip=clip, ranks=ranks)
    checks = check_rows(x, block.maximum, weighted.losses, formula.expects == "probabilities")
    given = block.targets if inputs.probability_targets else inputs.targets[start:stop].astype(np.intp)
    return Losses(
        per_sample=weighted.losses,
        denominator=weighted.denominator,
        target_class=given,
        stored_log_prob=weighted.target_log_prob,
        target_is_max=block.target_z == 0.0,  # z = x - max(x) is exactly 0 at the maximum
        predicted=block.argmax,
        checks=checks,
        ranks=block.ranks,
    )


def check_target_range(inputs: ValidatedInputs) -> None:
    """Refuse index targets outside ``[0, C)`` that are not the ignore index, whatever made ``inputs``
    (:func:`~ce_cli.families.softmax.inputs.validate_inputs` refuses them first; the compiled kernel checks again).

    Raises:
        TargetError: naming the first such target.
    """
    if inputs.probability_targets:
        return
    targets = np.asarray(inputs.targets, dtype=np.int64)
    if not inputs.targets_checked:  # validate_inputs left the range to the evaluation: its own message
        refuse_out_of_range(targets, inputs.ignore_index, inputs.num_classes, inputs.targets_name, inputs.sample_shape)
    row = first_out_of_range(targets, inputs.ignore_index, inputs.num_classes)
    if row is not None:
        raise TargetError(f"target {int(targets[row])} at row {row} is out of range for {inputs.num_classes} classes")


def evaluate(
    inputs: ValidatedInputs,
    formula: FormulaSpec,
    *,
    predictions: bool = False,
    clip: float | None = None,
    ranks: bool = False,
    progress: Callable[[int], None] | None = None,
    row_stats: bool = False,
) -> Losses:
    """Per-sample losses of ``inputs`` under ``formula``, evaluated block by block on every core.

    A ``.npy`` file streams through in bounded resident memory (:mod:`ce_cli.blocks`, :mod:`ce_cli.layout`).

    Args:
        inputs: validated input.
        formula: a registered formula (:func:`ce_cli.formulas.formula_spec`).
        predictions: also find each sample's predicted class.
        clip: clip probabilities into ``[clip, 1 - clip]`` (a formula that takes probabilities only).
        ranks: also find each target's rank among its row's logits.
        progress: called with the number of rows done, as blocks finish.
        row_stats: also keep each row's maximum and log-sum-exp (:attr:`Losses.row_stats`) where the
            compiled kernel evaluates (elsewhere they are not kept, and ``None``).

    Returns:
        :class:`Losses` whose per-sample arrays have ``inputs.sample_shape``.
    """

    kernel = active_kernel()
    if _by_kernel_alone(kernel, inputs, formula):
        from ce_cli.families.softmax.native_losses import native_losses

        return native_losses(
            kernel, inputs, predictions=predictions, ranks=ranks, progress=progress, row_stats=row_stats
        )
    check_target_range(inputs)

    def one_block(start: int, stop: int) -> Losses:
        return block_losses(inputs, formula, start, stop, predictions=predictions, clip=clip, ranks=ranks)

    chunk_bytes = NATIVE_CHUNK_BYTES if kernel.native else CHUNK_BYTES
    # Each block's results go into arrays made once, as blocks come: a list of blocks joined at the end
    # would hold every per-sample array twice.
    count = inputs.num_samples
    per_sample, target_class = np.empty(count), np.empty(count, dtype=np.intp)
    is_max = np.empty(count, dtype=np.bool_)
    predicted = np.empty(count, dtype=np.intp) if predictions else None
    rank = np.empty(count, dtype=np.intp) if ranks else None
    stored: Float64Array | None = None
    denominator, checks, offset = 0.0, NO_ROWS, 0
    for block in run_blocks(inputs.rows, one_block, progress=progress, chunk_bytes=chunk_bytes):
        part = slice(offset, offset + len(block.per_sample))
        per_sample[part], target_class[part], is_max[part] = block.per_sample, block.target_class, block.target_is_max
        if block.stored_log_prob is not None:
            if stored is None:  # from the first block that keeps it; earlier ones had -loss
                stored = np.empty(count)
                stored[:offset] = -per_sample[:offset]
            stored[part] = block.stored_log_prob
        elif stored is not None:
            stored[part] = -block.per_sample
        if predicted is not None and block.predicted is not None:
            predicted[part] = block.predicted
        if rank is not None and block.ranks is not None:
            rank[part] = block.ranks
        denominator += block.denominator
        checks = checks + block.checks
        offset = part.stop
    shape = inputs.sample_shape
    return Losses(
        per_sample=per_sample.reshape(shape),
        denominator=float(denominator),
        target_class=target_class.reshape(shape),
        stored_log_prob=None if stored is None else stored.reshape(shape),
        target_is_max=is_max.reshape(shape),
        predicted=None if predicted is None else predicted.reshape(shape),
        checks=checks,
        ranks=None if rank is None else rank.reshape(shape),
    )


def _by_kernel_alone(kernel: Kernel, inputs: ValidatedInputs, formula: FormulaSpec) -> bool:
    """Whether the compiled kernel's ``index_losses`` evaluates ``inputs`` by itself (index targets, no
    smoothing, a formula on logits, rows in a dtype every block has)."""
    fused = formula.binary != "probabilities" and not needs_all_classes(inputs)
    return kernel.native and fused and reads_dtype(inputs.rows.dtype)


def evaluate_pair(
    new: ValidatedInputs,
    baseline: ValidatedInputs,
    formula: FormulaSpec,
    *,
    predictions: bool = False,
    progress: Callable[[int], None] | None = None,
) -> tuple[Losses, Losses] | None:
    """Both models' :func:`evaluate` (with ``row_stats``) in one pass over their blocks, for ``ce-loss diff``:
    each file read once, and the baseline's :attr:`Losses.cross_ratio` made where the kernel can
    (:func:`ce_cli.families.softmax.native_losses.native_pair`). ``None`` where the compiled kernel does not
    evaluate both by itself, or their rows differ in shape: then evaluate each.
    """
    kernel = active_kernel()
    same = new.rows.shape == baseline.rows.shape and new.num_samples == baseline.num_samples
    if not (same and _by_kernel_alone(kernel, new, formula) and _by_kernel_alone(kernel, baseline, formula)):
        return None
    from ce_cli.families.softmax.native_losses import native_pair

    return native_pair(kernel, new, baseline, predictions=predictions, progress=progress)
