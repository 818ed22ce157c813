"""Two models on the same samples evaluated one after the other (``Family.compute_pair`` where no pass over
both is shared), with one progress count across both. The standard library only."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ce_cli.families.protocol import Family
    from ce_cli.families.softmax.losses import Reduction
    from ce_cli.families.softmax.report import SummaryRequest
    from ce_cli.formulas import FormulaSpec

R = TypeVar("R")
I = TypeVar("I")  # noqa: E741


def one_after_the_other(
    compute: Callable[[I, Callable[[int], None] | None], R],
    new: I,
    baseline: I,
    size: int,
    progress: Callable[[int], None] | None,
) -> tuple[R, R]:
    """``(compute(new), compute(baseline))``, ``progress`` counting ``size`` units over both (half each)."""

    def half(offset: int) -> Callable[[int], None] | None:
        return None if progress is None else lambda done: progress((offset + done) // 2)

    return compute(new, half(0)), compute(baseline, half(size))


class OneAfterTheOther:
    """``Family.compute_pair`` for a family with no pass over both models to share: its ``compute`` twice."""

    def compute_pair(
        self: Family,
        new: Any,
        baseline: Any,
        formula: FormulaSpec,
        reduction: Reduction,
        *,
        eps: float | str | None,
        request: SummaryRequest,
        progress: Callable[[int], None] | None,
    ) -> tuple[Any, Any]:
        def compute(inputs: Any, counted: Callable[[int], None] | None) -> Any:
            return self.compute(inputs, formula, reduction, eps=eps, request=request, progress=counted)

        return one_after_the_other(compute, new, baseline, self.size(new), progress)
