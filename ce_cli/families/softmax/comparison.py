"""The softmax family's formulas side by side (``compare``): each against the reference, per sample."""

from __future__ import annotations

from collections.abc import Callable

from ce_cli.comparison import Comparison, abs_diff, compared_formulas, share
from ce_cli.data_warnings import data_warnings
from ce_cli.families.softmax.inputs import ValidatedInputs
from ce_cli.families.softmax.losses import Losses, evaluate
from ce_cli.formulas import REFERENCE, probability_clip


def compare_formulas(
    inputs: ValidatedInputs, *, eps: float | str | None = None, progress: Callable[[int], None] | None = None
) -> Comparison:
    """Evaluate every formula of :func:`compared_formulas` on ``inputs`` and measure each against the reference.

    ``eps`` clips probabilities for the formulas that take them (:func:`ce_cli.formulas.probability_clip`);
    ``progress`` is called with the rows done (``M`` in all), each formula's pass counting its share.
    """
    rows = inputs.num_samples
    results: dict[str, Losses] = {}
    formulas = compared_formulas()
    for number, formula in enumerate(formulas):
        report = None if progress is None else share(progress, number, len(formulas), rows)
        clip = probability_clip(eps, formula, inputs.rows.dtype) if formula.expects == "probabilities" else None
        results[formula.name] = evaluate(inputs, formula, clip=clip, progress=report)
    reference = results[REFERENCE].per_sample
    differences = {name: abs_diff(r.per_sample, reference) for name, r in results.items() if name != REFERENCE}
    return Comparison(
        inputs=inputs,
        results=results,
        differences=differences,
        warnings=tuple(data_warnings(results[REFERENCE].checks, inputs, None)),
    )
