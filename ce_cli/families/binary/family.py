"""The binary family as one :class:`~ce_cli.families.protocol.Family`.

Its parts: :mod:`ce_cli.families.binary.forms` (the loss's forms), :mod:`ce_cli.families.binary.inputs`
(inputs), :mod:`ce_cli.families.binary.report` (evaluation by blocks and the report),
:func:`ce_cli.comparison.compare_binary`, :mod:`ce_cli.families.binary.derivation` (one
element) and :mod:`ce_cli.families.binary.render` (the writers).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from ce_cli.families.binary import render as render_binary
from ce_cli.families.pairs import OneAfterTheOther

if TYPE_CHECKING:
    from ce_cli.accumulators import LossStats
    from ce_cli.array_types import Float64Array, IndexArray
    from ce_cli.calibration.sums import Confidences
    from ce_cli.calibration.temperature import Blocks
    from ce_cli.data_warnings import DataWarning
    from ce_cli.families.binary.inputs import BinaryInputs
    from ce_cli.families.softmax.losses import Reduction
    from ce_cli.families.softmax.report import SummaryRequest
    from ce_cli.formulas import FormulaSpec
    from ce_cli.io.inputs import InputSpec, SourcesRead
    from ce_cli.paired.samples import PairedSamples
    from ce_cli.render import Writer


class BinaryFamily(OneAfterTheOther):
    """Binary classifiers ``(N,)``, multi-label ``(N, L)`` and masks: one sigmoid per element."""

    name = "binary"
    takes = frozenset({"weight", "pos_weight", "by_class"})
    elementwise = True
    targets_optional = False
    compute_writers = render_binary.WRITERS
    explain_writers = render_binary.EXPLAIN_WRITERS
    losses_file_encoders = render_binary.LOSSES_FILE_ENCODERS

    @property
    def compare_writers(self) -> Mapping[str, Writer[Any]]:
        from ce_cli.render.compare import WRITERS

        return WRITERS

    def validate(self, read: SourcesRead, spec: InputSpec) -> BinaryInputs:
        from ce_cli.families.binary.inputs import validate_binary

        return validate_binary(
            read.logits, read.targets, weight=read.weight, pos_weight=read.pos_weight, names=read.names
        )

    def size(self, inputs: BinaryInputs) -> int:
        return inputs.num_elements

    def sample_shape(self, inputs: BinaryInputs) -> tuple[int, ...]:
        return inputs.shape

    def compute(
        self,
        inputs: BinaryInputs,
        formula: FormulaSpec,
        reduction: Reduction,
        *,
        eps: float | str | None,
        request: SummaryRequest,
        progress: Callable[[int], None] | None,
    ) -> Any:
        from ce_cli.families.binary.report import build_binary_report

        return build_binary_report(inputs, formula, reduction, eps=eps, by_label=request.by_class, progress=progress)

    def write_quiet(self, result: Any, stream: TextIO) -> None:
        render_binary.write_quiet(result, stream)

    def compare(self, inputs: BinaryInputs, *, eps: float | str | None, progress: Callable[[int], None] | None) -> Any:
        from ce_cli.families.binary.comparison import compare_binary

        return compare_binary(inputs, eps=eps, progress=progress)

    def explain(self, inputs: BinaryInputs, flat: int) -> tuple[Any, Sequence[DataWarning]]:
        from ce_cli.families.binary.derivation import derive_binary

        return derive_binary(inputs, flat), ()

    def accumulate(self, result: Any) -> LossStats:
        from ce_cli.families.binary.stats import accumulate

        return accumulate(result)

    def pooled_json(self, stats: LossStats) -> dict[str, Any]:
        from ce_cli.families.binary.stats import pooled_json

        return pooled_json(stats)

    def paired(self, result: Any) -> PairedSamples:
        from ce_cli.families.binary.paired import paired_samples

        return paired_samples(result)

    def divergence(
        self,
        new: BinaryInputs,
        baseline: BinaryInputs,
        progress: Callable[[int], None] | None,
        results: tuple[Any, Any] | None = None,
    ) -> Float64Array | None:
        return None  # one sigmoid per element: the loss difference is the comparison

    def confidences(
        self, inputs: BinaryInputs, formula: FormulaSpec, temperature: float = 1.0
    ) -> tuple[Confidences, IndexArray]:
        from ce_cli.families.binary.calibration import confidences

        return confidences(inputs, probabilities=formula.binary == "probabilities")

    def temperature_blocks(self, inputs: BinaryInputs, formula: FormulaSpec) -> Blocks:
        from ce_cli.errors import OptionError

        raise OptionError("--fit-temperature fits a softmax's temperature; --task binary has none")


FAMILY = BinaryFamily()
