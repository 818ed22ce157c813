"""The compiled Poisson-bootstrap sums, where the kernel is built and chosen (:mod:`ce_cli.native`)."""

from __future__ import annotations

from ce_cli.array_types import Float64Array
from ce_cli.paired.bootstrap import U32, SumsKernel


def sums_kernel() -> SumsKernel | None:
    """The active compiled kernel's ``poisson_sums``, or ``None`` (numpy computes the same weights)."""
    from ce_cli.native import active

    kernel = active()
    module = kernel.module
    if not kernel.native or module is None or not hasattr(module, "poisson_sums"):
        return None
    index = kernel.index

    def run(
        lo: U32, hi: U32, a: Float64Array, w: Float64Array, first: int, num: Float64Array, den: Float64Array
    ) -> None:
        module.poisson_sums(index, lo, hi, a, w, first, num, den)

    return run
