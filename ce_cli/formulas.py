"""The formula registry: every formula ce-loss computes, declared once. Pure numpy.

Notation: ``x`` is one row of logits over ``C`` classes, ``t`` its target and
``m = max_j x_j``. Every formula gives the log-probabilities ``log p`` of a
block of rows, and every loss is built from them in one place
(:mod:`ce_cli.families.softmax.weighting`: weights, ignored targets, label smoothing and
probability targets), in float64 whatever the input dtype.

Softmax family (``torch.nn.functional.cross_entropy``):

- ``cross_entropy``: the fused, stable form PyTorch computes,
  ``-log p[t] = logsumexp(x) - x[t]`` with ``logsumexp(x) = m + log sum_j exp(x_j - m)``.
  It never builds softmax nor the full log-softmax row.
- ``log_softmax_nll``: the two-step composition PyTorch documents, building
  ``log_softmax(x) = (x - m) - log sum_j exp(x_j - m)`` for every class, then
  the negative log-likelihood pick ``-log_softmax(x)[t]``.
- ``naive``: the textbook ``H(p, q) = -sum_c p_c log q_c`` applied to the raw
  inputs taken as probabilities ``q`` (``-log q[t]`` for one-hot ``p``).

A new formula is one :class:`FormulaSpec` in :data:`REGISTRY`: the command
line's choices, ``compare``, ``explain``, the warnings about the data and the
help text read it from there.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from ce_cli.arguments import real_number
from ce_cli.array_types import Float64Array, IndexArray
from ce_cli.errors import OptionError, choose
from ce_cli.log_sum_exp import ShiftedBlock
from ce_cli.records import frozen

Family = Literal["softmax"]
Expects = Literal["logits", "probabilities"]
BinaryForm = Literal[
    "fused", "two_step", "probabilities"
]  # how a formula computes the binary family (ce_cli.families.binary.forms)


class BlockLogProbs(Protocol):
    """``log p`` of a ``(B, C)`` block under one formula, in whatever form is cheapest to reduce."""

    def at_targets(self) -> Float64Array:
        """``(B,)`` ``log p[i, t_i]`` at the target class each row was built with."""
        ...

    def weighted_sum(self, weight: Float64Array | None) -> Float64Array:
        """``(B,)`` ``sum_c w_c log p[i, c]`` (``w`` all ones when ``None``)."""
        ...

    def coefficient_sum(self, coefficients: Float64Array) -> Float64Array:
        """``(B,)`` ``sum_c v[i, c] log p[i, c]`` for ``(B, C)`` coefficients ``v``."""
        ...


class BlockFunction(Protocol):
    """A formula's ``log p`` for a block of rows.

    Args:
        x: ``(B, C)`` the block's rows.
        targets: ``(B,)`` each row's target class.
        all_classes: whether the losses need ``log p`` at every class, not only the target's.
        argmax: whether to find each row's largest value.
        clip: for a formula that takes probabilities, clip them into ``[clip, 1 - clip]`` first.
        ranks: whether to find each target's rank among its row's values.
    """

    def __call__(
        self,
        x: NDArray[Any],
        targets: IndexArray,
        *,
        all_classes: bool,
        argmax: bool,
        clip: float | None,
        ranks: bool = False,
    ) -> tuple[ShiftedBlock, BlockLogProbs]: ...


@frozen
class FormulaSpec:
    """One formula, as every part of ce-loss knows it.

    Attributes:
        name: the ``--formula`` choice and the API's ``formula=`` value.
        family: the loss family it belongs to (``softmax``: one distribution over C classes per sample).
        expects: what its inputs are taken to be: ``logits`` (raw scores) or ``probabilities``.
        summary: a few words for the help text.
        per_sample: its per-sample loss for an index target, as an expression in ``x`` and ``t``.
        differs_because: why it differs from the family's reference, for ``compare``'s verdict.
        binary: its form for binary and multi-label inputs (:mod:`ce_cli.families.binary.forms`): the fused
            stable form, log-sigmoid then NLL, or the inputs taken as probabilities.
        block: ``(x, targets, all_classes, argmax) -> (ShiftedBlock, BlockLogProbs)`` for a block of rows.
    """

    name: str
    family: Family
    expects: Expects
    summary: str
    per_sample: str
    differs_because: str
    binary: BinaryForm
    block: BlockFunction


class _FusedLogProbs:
    """``log p_c = z_c - lse_z``, never built: every reduction works on ``z`` and ``lse_z``."""

    def __init__(self, block: ShiftedBlock) -> None:
        self.block = block

    def at_targets(self) -> Float64Array:
        out: Float64Array = self.block.target_z - self.block.lse_z
        return out

    def weighted_sum(self, weight: Float64Array | None) -> Float64Array:
        block = self.block
        out: Float64Array
        if weight is None:
            out = -(block.lse_z * block.num_classes - block.row_sum())
        else:
            out = -(block.lse_z * float(np.sum(weight)) - block.row_dot(weight))
        return out

    def coefficient_sum(self, coefficients: Float64Array) -> Float64Array:
        v = self.block.in_layout(coefficients)
        out: Float64Array = -(self.block.lse_z * self.block.row_sum(v) - self.block.row_sum(v * self.block.z))
        return out


class _TabulatedLogProbs:
    """``log p`` built for every class of the block (in the block's layout), then reduced."""

    def __init__(self, block: ShiftedBlock, table: Float64Array) -> None:
        self.block, self.table = block, table

    def at_targets(self) -> Float64Array:
        picked: Float64Array = self.block.take(self.block.targets, self.table)
        return picked

    def weighted_sum(self, weight: Float64Array | None) -> Float64Array:
        return self.block.row_sum(self.table) if weight is None else self.block.row_dot(weight, self.table)

    def coefficient_sum(self, coefficients: Float64Array) -> Float64Array:
        return self.block.row_sum(self.block.in_layout(coefficients) * self.table)


def _fused(
    x: NDArray[Any],
    targets: IndexArray,
    *,
    all_classes: bool,
    argmax: bool,
    clip: float | None,
    ranks: bool = False,
) -> tuple[ShiftedBlock, BlockLogProbs]:
    block = ShiftedBlock(x, targets, keep_z=all_classes, argmax=argmax, ranks=ranks)
    return block, _FusedLogProbs(block)


def _two_step(
    x: NDArray[Any],
    targets: IndexArray,
    *,
    all_classes: bool,
    argmax: bool,
    clip: float | None,
    ranks: bool = False,
) -> tuple[ShiftedBlock, BlockLogProbs]:
    block = ShiftedBlock(x, targets, keep_z=True, argmax=argmax, ranks=ranks)
    return block, _TabulatedLogProbs(block, block.log_probs())


def _naive(
    x: NDArray[Any],
    targets: IndexArray,
    *,
    all_classes: bool,
    argmax: bool,
    clip: float | None,
    ranks: bool = False,
) -> tuple[ShiftedBlock, BlockLogProbs]:
    block = ShiftedBlock(x, targets, keep_z=False, argmax=argmax, ranks=ranks)  # maximum, argmax, layout
    q = np.asarray(x, dtype=np.float64)
    if clip is not None:
        q = np.clip(q, clip, 1.0 - clip)
    return block, _TabulatedLogProbs(block, block.in_layout(np.log(q)))


REGISTRY: dict[str, FormulaSpec] = {
    spec.name: spec
    for spec in (
        FormulaSpec(
            name="cross_entropy",
            family="softmax",
            expects="logits",
            summary="fused, as PyTorch",
            per_sample="logsumexp(x) - x[t]",
            differs_because="the reference (PyTorch's formula)",
            binary="fused",
            block=_fused,
        ),
        FormulaSpec(
            name="log_softmax_nll",
            family="softmax",
            expects="logits",
            summary="two steps",
            per_sample="-log_softmax(x)[t]",
            differs_because="the two-step composition should agree to rounding; please report this input",
            binary="two_step",
            block=_two_step,
        ),
        FormulaSpec(
            name="naive",
            family="softmax",
            expects="probabilities",
            summary="-log q, for probabilities such as predict_proba output",
            per_sample="-log q[t], q = x",
            differs_because="naive takes the inputs as probabilities, not logits",
            binary="probabilities",
            block=_naive,
        ),
    )
}
FORMULAS: tuple[str, ...] = tuple(REGISTRY)
REFERENCE = "cross_entropy"  # the softmax family's reference: what PyTorch computes


def probability_clip(eps: float | str | None, formula: FormulaSpec, dtype: np.dtype[Any]) -> float | None:
    """The clipping ``E`` for ``eps``: probabilities go into ``[E, 1 - E]`` before the log.

    ``"auto"`` is the machine epsilon of ``dtype`` (the input's), as
    ``sklearn.metrics.log_loss`` clips (scikit-learn 1.5 and later, with no
    renormalisation); ``None`` clips nothing.

    Raises:
        OptionError: ``formula`` takes logits (there is nothing to clip), or ``eps`` is not in ``[0, 0.5)``.
    """
    if eps is None:
        return None
    if formula.expects != "probabilities":
        takes = ", ".join(s.name for s in REGISTRY.values() if s.expects == "probabilities")
        raise OptionError(f"eps clips probabilities, and {formula.name} takes logits (it applies to: {takes})")
    if eps == "auto":
        return float(np.finfo(dtype if np.issubdtype(dtype, np.floating) else np.float64).eps)
    if isinstance(eps, str):
        raise OptionError(f"eps must be a number in [0, 0.5) or 'auto', not {eps!r}")
    value = real_number(eps, "eps")
    if not 0.0 <= value < 0.5:  # also refuses NaN
        raise OptionError(f"eps must be in [0, 0.5), not {eps}")
    return value


def formula_spec(name: str) -> FormulaSpec:
    """The registered formula called ``name``.

    Raises:
        OptionError: no formula has that name.
    """
    return choose(REGISTRY, name, "formula")
