"""The softmax family as one :class:`~ce_cli.families.protocol.Family`.

Its parts: :mod:`ce_cli.families.softmax.inputs` (inputs), :mod:`ce_cli.families.softmax.losses` (evaluation by
blocks), :mod:`ce_cli.families.softmax.report` and :mod:`ce_cli.families.softmax.summary` (the report),
:mod:`ce_cli.comparison` (the formulas side by side), :mod:`ce_cli.families.softmax.derivation`
(one sample), and :mod:`ce_cli.families.softmax.render`, :mod:`~ce_cli.render.compare`,
:mod:`~ce_cli.families.softmax.render_explain` (the writers).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from ce_cli.families.softmax import render as render_compute
from ce_cli.families.softmax import render_explain as render_explain

if TYPE_CHECKING:
    from ce_cli.accumulators import LossStats
    from ce_cli.array_types import Float64Array, IndexArray
    from ce_cli.calibration.sums import Confidences
    from ce_cli.calibration.temperature import Blocks
    from ce_cli.data_warnings import DataWarning
    from ce_cli.families.softmax.inputs import ValidatedInputs
    from ce_cli.families.softmax.losses import Reduction
    from ce_cli.families.softmax.report import SummaryRequest
    from ce_cli.formulas import FormulaSpec
    from ce_cli.io.inputs import InputSpec, SourcesRead
    from ce_cli.paired.samples import PairedSamples
    from ce_cli.render import Writer


class SoftmaxFamily:
    """One softmax over C classes per sample, as ``torch.nn.functional.cross_entropy``."""

    name = "multiclass"
    takes = frozenset(
        {"weight", "ignore_index", "label_smoothing", "class_axis", "by_class", "top_k", "worst", "per_sequence"}
    )
    elementwise = False
    targets_optional = False
    compute_writers = render_compute.WRITERS
    explain_writers = render_explain.WRITERS
    losses_file_encoders = render_compute.LOSSES_FILE_ENCODERS

    @property
    def compare_writers(self) -> Mapping[str, Writer[Any]]:
        from ce_cli.render.compare import WRITERS

        return WRITERS

    def validate(self, read: SourcesRead, spec: InputSpec) -> ValidatedInputs:
        from ce_cli.families.softmax.inputs import validate_inputs

        assert read.targets is not None  # this family does not take targets_optional
        return validate_inputs(
            read.logits,
            read.targets,
            weight=read.weight,
            ignore_index=spec.ignore_index,
            label_smoothing=spec.label_smoothing,
            class_axis=spec.class_axis,
            names=read.names[:3],
        )

    def size(self, inputs: ValidatedInputs) -> int:
        return inputs.num_samples

    def sample_shape(self, inputs: ValidatedInputs) -> tuple[int, ...]:
        return inputs.sample_shape

    def compute(
        self,
        inputs: ValidatedInputs,
        formula: FormulaSpec,
        reduction: Reduction,
        *,
        eps: float | str | None,
        request: SummaryRequest,
        progress: Callable[[int], None] | None,
    ) -> Any:
        from ce_cli.families.softmax.report import build_report

        return build_report(inputs, formula, reduction, eps=eps, request=request, progress=progress)

    def compute_pair(
        self,
        new: ValidatedInputs,
        baseline: ValidatedInputs,
        formula: FormulaSpec,
        reduction: Reduction,
        *,
        eps: float | str | None,
        request: SummaryRequest,
        progress: Callable[[int], None] | None,
    ) -> tuple[Any, Any]:
        from ce_cli.families.softmax.report import build_report_pair

        return build_report_pair(new, baseline, formula, reduction, eps=eps, request=request, progress=progress)

    def write_quiet(self, result: Any, stream: TextIO) -> None:
        render_compute.write_quiet(result, stream)

    def compare(
        self, inputs: ValidatedInputs, *, eps: float | str | None, progress: Callable[[int], None] | None
    ) -> Any:
        from ce_cli.families.softmax.comparison import compare_formulas

        return compare_formulas(inputs, eps=eps, progress=progress)

    def explain(self, inputs: ValidatedInputs, flat: int) -> tuple[Any, Sequence[DataWarning]]:
        from ce_cli.families.softmax.derivation import derivation_warnings, derive

        derivation = derive(inputs, flat)
        return derivation, derivation_warnings(derivation)

    def accumulate(self, result: Any) -> LossStats:
        from ce_cli.families.softmax.stats import accumulate

        return accumulate(result)

    def pooled_json(self, stats: LossStats) -> dict[str, Any]:
        from ce_cli.families.softmax.stats import pooled_json

        return pooled_json(stats)

    def paired(self, result: Any) -> PairedSamples:
        from ce_cli.families.softmax.paired import paired_samples

        return paired_samples(result)

    def divergence(
        self,
        new: ValidatedInputs,
        baseline: ValidatedInputs,
        progress: Callable[[int], None] | None,
        results: tuple[Any, Any] | None = None,
    ) -> Float64Array | None:
        from ce_cli.paired.kl import kl_from_cross, kl_per_sample

        known = None
        if results is not None:
            stats = (results[0].losses.row_stats, results[1].losses.row_stats)
            known = None if stats[0] is None or stats[1] is None else (stats[0], stats[1])
            cross = results[1].losses.cross_ratio  # made in the baseline's own pass (compute_pair)
            if known is not None and cross is not None:
                if progress is not None:
                    progress(self.size(new))
                return kl_from_cross(cross, known)
        return kl_per_sample(new.rows, baseline.rows, progress=progress, known=known)

    def confidences(
        self, inputs: ValidatedInputs, formula: FormulaSpec, temperature: float = 1.0
    ) -> tuple[Confidences, IndexArray]:
        from ce_cli.families.softmax.calibration import confidences

        return confidences(inputs, probabilities=formula.expects == "probabilities", temperature=temperature)

    def temperature_blocks(self, inputs: ValidatedInputs, formula: FormulaSpec) -> Blocks:
        from ce_cli.errors import OptionError
        from ce_cli.families.softmax.calibration import logit_blocks

        if formula.expects != "logits":
            raise OptionError(f"--fit-temperature scales logits, and --formula {formula.name} takes probabilities")
        if inputs.weight is not None or inputs.label_smoothing:
            raise OptionError(
                "--fit-temperature fits the plain NLL (Guo et al. 2017): give no --weight or --label-smoothing"
            )
        return lambda: logit_blocks(inputs)


FAMILY = SoftmaxFamily()
