"""The formulas' blocks of rows, and the binary family's elements, evaluated by the compiled kernel.

The same quantities as the numpy path (:class:`ce_cli.log_sum_exp.ShiftedBlock`,
:mod:`ce_cli.formulas`, :mod:`ce_cli.families.binary.forms`), from the same mathematics,
computed in one pass per row by ``ce_cli/native/kernel.c`` with the GIL
released: per row the maximum ``m``, ``z`` at the target, ``lse_z = log1p(s)``
(``s`` the sum of every ``exp(z_j)`` but one maximum's), and on request the
argmax and the target's rank. Reductions over every class (label smoothing,
probability targets) are a second pass, :meth:`NativeLogProbs.sums`, with the
term of the formula: ``z`` (fused), ``z - lse_z`` (two steps) or ``log q``
(naive). The two kernels agree to 1e-14 relative (``tests/test_native.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ce_cli.array_types import Float64Array, IndexArray
from ce_cli.families.binary.forms import logits_losses
from ce_cli.formulas import BinaryForm, BlockLogProbs
from ce_cli.log_sum_exp import nan_ranked
from ce_cli.native import Kernel

# the kernel reads these dtypes in the machine's byte order; anything else goes to numpy
NATIVE_DTYPES = frozenset(np.dtype(t) for t in (np.float16, np.float32, np.float64))
TERMS: dict[BinaryForm, int] = {"fused": 0, "two_step": 1, "probabilities": 2}  # kernel.c's CE_TERM_*


def reads_dtype(dtype: np.dtype[Any]) -> bool:
    """Whether the kernel reads values of ``dtype`` as they are: float16/32/64 in this machine's byte order."""
    return dtype in NATIVE_DTYPES and dtype.isnative


def accepts(x: NDArray[Any]) -> bool:
    """Whether the kernel reads ``x`` as it is: of a dtype it reads, of 1 or 2 dimensions, not empty."""
    return reads_dtype(x.dtype) and 1 <= x.ndim <= 2 and x.size > 0


class NativeBlock:
    """The per-row reductions of a ``(B, C)`` block, as :class:`ce_cli.log_sum_exp.ShiftedBlock` names them.

    Attributes:
        num_classes: ``C``.
        maximum, target_z, lse_z: ``(B,)`` float64: ``m``, ``x[t] - m``, ``logsumexp(x) - m``.
        argmax, ranks: ``(B,)`` the first maximum's class and ``1 +`` the classes above the
            target, or ``None`` when not asked for.
        targets: ``(B,)`` the class per row the block was built with.
    """

    def __init__(self, kernel: Kernel, x: NDArray[Any], targets: IndexArray, *, argmax: bool, ranks: bool) -> None:
        count, self.num_classes = x.shape
        self.x, self.kernel = x, kernel
        self.targets: IndexArray = np.ascontiguousarray(targets, dtype=np.int64)
        self.maximum: Float64Array = np.empty(count)
        self.target_z: Float64Array = np.empty(count)
        self.lse_z: Float64Array = np.empty(count)
        self.argmax: IndexArray | None = np.empty(count, dtype=np.int64) if argmax else None
        self.ranks: IndexArray | None = np.empty(count, dtype=np.int64) if ranks else None
        assert kernel.module is not None
        kernel.module.softmax_rows(
            kernel.index, x, self.targets, self.maximum, self.target_z, self.lse_z, self.argmax, self.ranks
        )
        if self.ranks is not None:
            nan_ranked(x, self.targets, self.ranks)


class NativeLogProbs:
    """``log p`` of a :class:`NativeBlock` under one formula (a :class:`ce_cli.formulas.BlockLogProbs`)."""

    def __init__(self, block: NativeBlock, form: BinaryForm, clip: float | None) -> None:
        self.block, self.form = block, form
        self.low, self.high = (-np.inf, np.inf) if clip is None else (clip, 1.0 - clip)

    def at_targets(self) -> Float64Array:
        block = self.block
        if self.form == "probabilities":
            picked = np.asarray(block.x[np.arange(len(block.targets)), block.targets], dtype=np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                logged: Float64Array = np.log(np.clip(picked, self.low, self.high))
            return logged
        out: Float64Array = block.target_z - block.lse_z
        return out

    def sums(
        self, weight: Float64Array | None = None, coefficients: Float64Array | None = None
    ) -> tuple[Float64Array, Float64Array]:
        """``(sum_c v_c term_c, sum_c v_c)`` per row, ``v`` all ones, a ``(C,)`` weight or ``(B, C)`` coefficients."""
        block = self.block
        count = len(block.targets)
        terms, totals = np.empty(count), np.empty(count)
        weight = None if weight is None else np.ascontiguousarray(weight, dtype=np.float64)
        coefficients = None if coefficients is None else np.asarray(coefficients, dtype=np.float64)
        assert block.kernel.module is not None
        block.kernel.module.row_sums(
            block.kernel.index,
            block.x,
            block.maximum,
            block.lse_z,
            coefficients,
            weight,
            TERMS[self.form],
            self.low,
            self.high,
            terms,
            totals,
        )
        return terms, totals

    def weighted_sum(self, weight: Float64Array | None) -> Float64Array:
        terms, totals = self.sums(weight=weight)
        return self._log_prob_sum(terms, totals)

    def coefficient_sum(self, coefficients: Float64Array) -> Float64Array:
        terms, totals = self.sums(coefficients=coefficients)
        return self._log_prob_sum(terms, totals)

    def _log_prob_sum(self, terms: Float64Array, totals: Float64Array) -> Float64Array:
        """``sum_c v_c log p_c``: for the fused form ``log p = z - lse_z`` is never built."""
        if self.form != "fused":
            return terms
        out: Float64Array = -(self.block.lse_z * totals - terms)
        return out


def native_block(
    kernel: Kernel,
    form: BinaryForm,
    x: NDArray[Any],
    targets: IndexArray,
    *,
    argmax: bool,
    clip: float | None,
    ranks: bool = False,
) -> tuple[NativeBlock, BlockLogProbs]:
    """A formula's block of rows by the compiled kernel (``form``: the formula's arrangement)."""
    block = NativeBlock(kernel, x, targets, argmax=argmax, ranks=ranks)
    return block, NativeLogProbs(block, form, clip)


def binary_elements(
    kernel: Kernel,
    probabilities: bool,
    x: NDArray[Any],
    t: NDArray[np.floating[Any]],
    pos_weight: Float64Array | None,
    weight: Float64Array | None,
    clip: float | None,
    losses: Float64Array,
    correct: NDArray[np.bool_],
    check_targets: bool = False,
) -> tuple[int, bool, int, int]:
    """Weighted per-element losses of the binary family into ``losses``, the predictions' hits into ``correct``.

    As :func:`ce_cli.families.binary.report.binary_block` computes them with numpy; infinite logits
    take PyTorch's arrangement (:func:`ce_cli.families.binary.forms.logits_losses`) here.

    Returns:
        ``(outside, all_in_unit, non_finite, bad_targets)``: the first probability outside [0, 1] (-1: none;
        the losses are then not filled), whether every ``x`` is in [0, 1], the elements whose
        ``x`` and loss are both non-finite, and the targets outside [0, 1] (or NaN; counted with
        ``check_targets``, else 0).
    """
    assert kernel.module is not None
    low, high = (-np.inf, np.inf) if clip is None else (clip, 1.0 - clip)
    special, not_in_unit, non_finite, bad_targets = kernel.module.binary(
        kernel.index, int(probabilities), x, t, pos_weight, weight, low, high, losses, correct, check_targets
    )
    if probabilities:
        return int(special), not_in_unit == 0, int(non_finite), int(bad_targets)
    if special:  # infinite logits
        where = np.flatnonzero(np.isinf(x))
        patched = logits_losses(
            x[where].astype(np.float64), t[where].astype(np.float64), None if pos_weight is None else pos_weight[where]
        )
        losses[where] = patched if weight is None else patched * weight[where]
        with np.errstate(invalid="ignore"):
            non_finite = np.count_nonzero(~np.isfinite(x) & ~np.isfinite(losses))
    return -1, not_in_unit == 0, int(non_finite), int(bad_targets)
