"""``--convention``, ``--sample-weight``, ``compare --conventions``: other frameworks' numbers, from the shell."""

from __future__ import annotations

from typing import Any

from ce_cli.cli.arguments import load
from ce_cli.cli.messages import result_warnings, say, warnings_last
from ce_cli.cli.streams import results_to_stdout, stdin_bytes
from ce_cli.conventions.options import CONVENTIONS, ConventionResult
from ce_cli.errors import CeLossError
from ce_cli.families.protocol import Family
from ce_cli.io.inputs import InputSpec
from ce_cli.records import replace
from ce_cli.render import RenderOptions, writer_for


def _load(spec: InputSpec, family: Family, silenced: bool) -> tuple[Any, Any, float]:
    """The family's inputs, read with the label smoothing kept aside for ``--task binary`` (PyTorch's binary
    loss has none, so the family would refuse it; Keras and TF v1 have one)."""
    if family.name == "binary":
        inputs, read = load(replace(spec, label_smoothing=0.0), family, silenced=silenced)
        return inputs, read, spec.label_smoothing
    inputs, read = load(spec, family, silenced=silenced)
    return inputs, read, 0.0


def _sample_weight(source: str | None, spec: InputSpec, family: Family, inputs: Any) -> Any:
    if source is None:
        return None
    from ce_cli.conventions.evaluate import per_sample_weight
    from ce_cli.io.sources import load as load_source

    read = load_source(source, "sample_weight", stdin_bytes(), header_mode=spec.header)
    import numpy as np

    return per_sample_weight(np.asarray(read.array), family.sample_shape(inputs))


def _pytorch(family: Family, inputs: Any, formula: str, weights: Any) -> ConventionResult:
    from ce_cli.conventions.evaluate import pytorch_with_sample_weight
    from ce_cli.conventions.options import ConventionResult
    from ce_cli.families.softmax.report import SummaryRequest
    from ce_cli.formulas import formula_spec

    report = family.compute(
        inputs, formula_spec(formula), "mean", eps=None, request=SummaryRequest(predictions=True), progress=None
    )
    samples = family.paired(report)
    if weights is None:
        return ConventionResult("pytorch", samples.losses, samples.losses.sum(), samples.denominator.sum())
    return pytorch_with_sample_weight(samples.losses, samples.counted, weights)


def compute_with_convention(
    family: Family,
    spec: InputSpec,
    *,
    convention: str,
    formula: str,
    reduction: str,
    sample_weight: str | None,
    output_format: str,
    quiet: bool,
    no_warnings: bool,
) -> None:
    """``compute --convention NAME`` (or ``--sample-weight``): the framework's number, written as asked."""
    from ce_cli.conventions.evaluate import evaluate_convention
    from ce_cli.render.conventions import write_quiet, writers

    inputs, read, smoothing = _load(spec, family, no_warnings)
    weights = _sample_weight(sample_weight, spec, family, inputs)
    if convention == "pytorch":
        result = _pytorch(family, inputs, formula, weights)
    else:
        result = evaluate_convention(
            convention, family.name, inputs, formula=formula, reduction=reduction, sample_weight=weights,
            binary_smoothing=smoothing,
        )  # fmt: skip
    write = writer_for(writers(family.name, formula, reduction), output_format)
    options = RenderOptions(names=read.sample_names, read=read.records)
    with warnings_last(result_warnings(read, ()), no_warnings), results_to_stdout() as stdout:
        if not no_warnings and convention == "pytorch" and result.notes:
            say(f"note: {result.notes[0]}")
        if quiet:
            write_quiet(result, reduction, stdout)
        else:
            write(result, stdout, options)


def compare_conventions(family: Family, spec: InputSpec, *, formula: str, sample_weight: str | None, output_format: str,
                        no_warnings: bool) -> None:  # fmt: skip
    """``compare --conventions``: every convention's number on this input, beside PyTorch's."""
    from ce_cli.conventions.evaluate import evaluate_convention
    from ce_cli.render.conventions import write_conventions

    inputs, read, smoothing = _load(spec, family, no_warnings)
    weights = _sample_weight(sample_weight, spec, family, inputs)
    rows: list[tuple[str, ConventionResult | str]] = [("pytorch", _pytorch(family, inputs, formula, weights))]
    for name in CONVENTIONS[1:]:
        try:
            found = evaluate_convention(
                name, family.name, inputs, formula=formula, reduction="mean", sample_weight=weights,
                binary_smoothing=smoothing,
            )  # fmt: skip
            rows.append((name, found))
        except CeLossError as error:
            rows.append((name, f"not available: {error}"))
    with warnings_last(result_warnings(read, ()), no_warnings), results_to_stdout() as stdout:
        write_conventions(rows, stdout, output_format == "json")


def explain_convention(family: Family, spec: InputSpec, *, convention: str, formula: str, sample: str,
                       output_format: str, no_warnings: bool) -> None:  # fmt: skip
    """``explain --convention NAME``: one sample's loss under the framework, and how the framework reduces."""
    from ce_cli.cli.arguments import sample_position
    from ce_cli.conventions.evaluate import evaluate_convention
    from ce_cli.render.conventions import write_explained

    inputs, read, smoothing = _load(spec, family, no_warnings)
    flat = sample_position(sample, family.sample_shape(inputs))
    result = evaluate_convention(
        convention, family.name, inputs, formula=formula, reduction="mean", binary_smoothing=smoothing
    )
    pytorch = _pytorch(family, inputs, formula, None)
    with warnings_last(result_warnings(read, ()), no_warnings), results_to_stdout() as stdout:
        write_explained(result, pytorch, flat, stdout, output_format == "json")
