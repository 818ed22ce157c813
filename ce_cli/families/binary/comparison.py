"""The binary family's formulas side by side (``compare``): each form against the reference, per element."""

from __future__ import annotations

from collections.abc import Callable

from ce_cli.comparison import Comparison, abs_diff, compared_formulas, share
from ce_cli.data_warnings import DataWarning, NonFiniteLogits, PosWeightLeftOut
from ce_cli.families.binary.inputs import BinaryInputs
from ce_cli.families.binary.report import BinaryReport, build_binary_report
from ce_cli.formulas import REFERENCE


def compare_binary(
    inputs: BinaryInputs, *, eps: float | str | None = None, progress: Callable[[int], None] | None = None
) -> Comparison:
    """Every formula's binary form on ``inputs``, element by element, measured against the reference."""
    elements = inputs.num_elements
    results: dict[str, BinaryReport] = {}
    formulas = compared_formulas()
    for number, formula in enumerate(formulas):
        report = None if progress is None else share(progress, number, len(formulas), elements)
        clip = eps if formula.expects == "probabilities" else None
        results[formula.name] = build_binary_report(inputs, formula, eps=clip, strict=False, progress=report)
    reference = results[REFERENCE].losses
    differences = {name: abs_diff(r.losses, reference) for name, r in results.items() if name != REFERENCE}
    warnings: tuple[DataWarning, ...] = tuple(w for w in results[REFERENCE].warnings if isinstance(w, NonFiniteLogits))
    without = tuple(f.name for f in formulas if f.binary == "probabilities")
    if inputs.pos_weight is not None and without:
        warnings += (PosWeightLeftOut(without),)
    return Comparison(inputs=inputs, results=results, differences=differences, warnings=warnings)
