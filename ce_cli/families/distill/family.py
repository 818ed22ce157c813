"""The distillation family as one :class:`~ce_cli.families.protocol.Family` (``--task distill``).

Its parts: :mod:`ce_cli.families.distill.divergences` (the divergences), :mod:`ce_cli.families.distill.losses`
(the loss of a block and its options), :mod:`ce_cli.families.distill.inputs`, :mod:`ce_cli.families.distill.report`,
:mod:`ce_cli.families.distill.comparison` (``compare``), :mod:`ce_cli.families.distill.derivation` (``explain``)
and :mod:`ce_cli.families.distill.render` (the writers).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from ce_cli.families.distill import comparison, derivation
from ce_cli.families.distill import render as render_distill
from ce_cli.families.pairs import OneAfterTheOther

if TYPE_CHECKING:
    from ce_cli.accumulators import LossStats
    from ce_cli.array_types import Float64Array, IndexArray
    from ce_cli.calibration.sums import Confidences
    from ce_cli.calibration.temperature import Blocks
    from ce_cli.data_warnings import DataWarning
    from ce_cli.families.distill.inputs import DistillInputs
    from ce_cli.families.softmax.losses import Reduction
    from ce_cli.families.softmax.report import SummaryRequest
    from ce_cli.formulas import FormulaSpec
    from ce_cli.io.inputs import InputSpec, SourcesRead
    from ce_cli.paired.samples import PairedSamples


class DistillFamily(OneAfterTheOther):
    """A student's softened softmax against a teacher's: KL (either direction) or JS, times T^2, plus
    the hard cross-entropy where targets are given."""

    name = "distill"
    takes = frozenset(
        {
            "teacher",
            "teacher_indices",
            "temperature",
            "alpha",
            "divergence",
            "teacher_form",
            "sparse_teacher",
            "ignore_index",
            "class_axis",
        }
    )
    elementwise = False
    targets_optional = True
    compute_writers = render_distill.WRITERS
    compare_writers = comparison.WRITERS
    explain_writers = derivation.WRITERS
    losses_file_encoders = render_distill.LOSSES_FILE_ENCODERS

    def validate(self, read: SourcesRead, spec: InputSpec) -> DistillInputs:
        from ce_cli.errors import OptionError
        from ce_cli.families.distill.inputs import validate_distill
        from ce_cli.families.distill.losses import DistillOptions

        if read.teacher is None:
            raise OptionError("--task distill scores a student against a teacher: give the teacher with --teacher SRC")
        options = DistillOptions(
            spec.temperature,
            spec.alpha,
            spec.divergence,  # type: ignore[arg-type]  # checked by DistillOptions.checked
            spec.teacher_form,  # type: ignore[arg-type]
            spec.ignore_index,
            spec.sparse_teacher,  # type: ignore[arg-type]
        )
        return validate_distill(
            read.logits,
            read.targets,
            read.teacher,
            options,
            indices=read.teacher_indices,
            class_axis=spec.class_axis,
            names=(read.names[0], read.names[1], "teacher"),
        )

    def size(self, inputs: DistillInputs) -> int:
        return inputs.num_samples

    def sample_shape(self, inputs: DistillInputs) -> tuple[int, ...]:
        return inputs.sample_shape

    def compute(
        self,
        inputs: DistillInputs,
        formula: FormulaSpec,
        reduction: Reduction,
        *,
        eps: float | str | None,
        request: SummaryRequest,
        progress: Callable[[int], None] | None,
    ) -> Any:
        from ce_cli.families.distill.report import build_distill_report

        return build_distill_report(inputs, reduction, predictions=request.predictions, progress=progress)

    def write_quiet(self, result: Any, stream: TextIO) -> None:
        render_distill.write_quiet(result, stream)

    def compare(self, inputs: DistillInputs, *, eps: float | str | None, progress: Callable[[int], None] | None) -> Any:
        from ce_cli.families.distill.comparison import compare_divergences

        return compare_divergences(inputs)

    def explain(self, inputs: DistillInputs, flat: int) -> tuple[Any, Sequence[DataWarning]]:
        from ce_cli.families.distill.derivation import derive_distill

        return derive_distill(inputs, flat), ()

    def accumulate(self, result: Any) -> LossStats:
        from ce_cli.families.distill.stats import accumulate

        return accumulate(result)

    def pooled_json(self, stats: LossStats) -> dict[str, Any]:
        from ce_cli.families.distill.stats import pooled_json

        return pooled_json(stats)

    def paired(self, result: Any) -> PairedSamples:
        from ce_cli.families.distill.paired import paired_samples

        return paired_samples(result)

    def divergence(
        self,
        new: DistillInputs,
        baseline: DistillInputs,
        progress: Callable[[int], None] | None,
        results: tuple[Any, Any] | None = None,
    ) -> Float64Array | None:
        return None  # two students: their losses against one teacher are the comparison

    def confidences(
        self, inputs: DistillInputs, formula: FormulaSpec, temperature: float = 1.0
    ) -> tuple[Confidences, IndexArray]:
        from ce_cli.errors import OptionError

        raise OptionError("--calibration scores a classifier: use --task multiclass (or binary), not distill")

    def temperature_blocks(self, inputs: DistillInputs, formula: FormulaSpec) -> Blocks:
        from ce_cli.errors import OptionError

        raise OptionError("--fit-temperature fits a classifier's temperature: use --task multiclass, not distill")


FAMILY = DistillFamily()
