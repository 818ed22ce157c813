"""What a loss family provides, so that every command can run it without knowing which it is.

A family is the loss and everything around it: how its inputs are validated,
how they are evaluated block by block into a report, its comparison of
formulas, its derivation of one sample, and the writers of each result. The
shared layers (reading sources, the kernels, numbers, tables, progress, errors)
stay outside. Heavy modules are imported inside the methods, so that looking a
family up costs nothing at start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, TextIO

if TYPE_CHECKING:
    from ce_cli.accumulators import LossStats
    from ce_cli.array_types import Float64Array, IndexArray
    from ce_cli.calibration.sums import Confidences
    from ce_cli.calibration.temperature import Blocks
    from ce_cli.data_warnings import DataWarning
    from ce_cli.families.softmax.losses import Reduction
    from ce_cli.families.softmax.report import SummaryRequest
    from ce_cli.formulas import FormulaSpec
    from ce_cli.io.inputs import InputSpec, SourcesRead
    from ce_cli.paired.samples import PairedSamples
    from ce_cli.render import RenderOptions, Writer

# The options a family may take beyond the sources and the formula; a family lists those it takes in
# ``takes``, and the command line refuses the others before anything is read.
OPTIONS = (
    "teacher",
    "teacher_indices",
    "temperature",
    "alpha",
    "divergence",
    "teacher_form",
    "sparse_teacher",
    "weight",
    "pos_weight",
    "ignore_index",
    "label_smoothing",
    "class_axis",
    "by_class",
    "top_k",
    "worst",
    "per_sequence",
)


class Result(Protocol):
    """A family's result of a command: what its writers render, and what the user should know."""

    @property
    def warnings(self) -> Sequence[DataWarning]: ...


class Family(Protocol):
    """A loss family, looked up by its ``name`` (``--task``) in :data:`ce_cli.families.REGISTRY`.

    Attributes:
        name: the ``--task`` value.
        takes: the options of :data:`OPTIONS` it takes.
        elementwise: every element of the input is its own problem (no class axis): a table of one
            score column is a vector, and targets written as integers are 0/1 labels, not a dtype.
        compute_writers, compare_writers, explain_writers: each ``--format`` name's writer for the
            results of ``compute``, ``compare`` and ``explain``.
        losses_file_encoders: what ``--output`` writes, by the file's suffix.
    """

    name: str
    takes: frozenset[str]
    elementwise: bool
    targets_optional: bool
    compute_writers: Mapping[str, Writer[Any]]
    explain_writers: Mapping[str, Writer[Any]]
    losses_file_encoders: Mapping[str, Callable[[Any, RenderOptions, BinaryIO], None]]

    @property
    def compare_writers(self) -> Mapping[str, Writer[Any]]:
        """``compare``'s writers (a property: ``compute`` need not import them)."""
        ...

    def validate(self, read: SourcesRead, spec: InputSpec) -> Any:
        """The family's validated inputs from the arrays read (raises the project's errors)."""
        ...

    def size(self, inputs: Any) -> int:
        """How many units (samples, elements) the progress bar counts."""
        ...

    def sample_shape(self, inputs: Any) -> tuple[int, ...]:
        """The shape of the per-sample losses, in which ``explain`` finds a sample."""
        ...

    def compute(
        self,
        inputs: Any,
        formula: FormulaSpec,
        reduction: Reduction,
        *,
        eps: float | str | None,
        request: SummaryRequest,
        progress: Callable[[int], None] | None,
    ) -> Result:
        """Evaluate ``inputs`` block by block into the report ``compute`` writes."""
        ...

    def compute_pair(
        self,
        new: Any,
        baseline: Any,
        formula: FormulaSpec,
        reduction: Reduction,
        *,
        eps: float | str | None,
        request: SummaryRequest,
        progress: Callable[[int], None] | None,
    ) -> tuple[Result, Result]:
        """:meth:`compute` of two models on the same samples (``ce-loss diff``): ``(new, baseline)``, in one
        pass over both where the family can (each file read once, and :meth:`divergence`'s sums made on the
        way); ``progress`` counts NEW's units."""
        ...

    def write_quiet(self, result: Any, stream: TextIO) -> None:
        """The headline value alone (``-q``)."""
        ...

    def compare(self, inputs: Any, *, eps: float | str | None, progress: Callable[[int], None] | None) -> Result:
        """Every formula side by side (``compare``)."""
        ...

    def explain(self, inputs: Any, flat: int) -> tuple[Any, Sequence[DataWarning]]:
        """The derivation of the sample at flat position ``flat``, and its warnings (``explain``)."""
        ...

    def accumulate(self, result: Any) -> LossStats:
        """The mergeable statistics of a ``compute`` result (``compute -f json`` writes them under ``state``)."""
        ...

    def pooled_json(self, stats: LossStats) -> dict[str, Any]:
        """The ``compute -f json`` keys that merged statistics give exactly (``ce-loss pool``)."""
        ...

    def paired(self, result: Any) -> PairedSamples:
        """One model's per-sample values of a ``compute`` result, for ``diff`` (predictions asked for)."""
        ...

    def divergence(
        self, new: Any, baseline: Any, progress: Callable[[int], None] | None, results: tuple[Any, Any] | None = None
    ) -> Float64Array | None:
        """Per-sample ``KL(p_baseline || p_new)`` of two validated inputs, or ``None`` where the family has none
        (``results``: both ``compute`` results, ``(new, baseline)``, whose per-row statistics it may reuse)."""
        ...

    def confidences(
        self, inputs: Any, formula: FormulaSpec, temperature: float = 1.0
    ) -> tuple[Confidences, IndexArray]:
        """Each counted sample's confidence, whether it was right, and its Brier term, with its flat position
        (``compute --calibration``; ``temperature`` divides the logits first).

        Raises:
            OptionError: the family (or these inputs) has no calibration.
        """
        ...

    def temperature_blocks(self, inputs: Any, formula: FormulaSpec) -> Blocks:
        """The counted samples' logits and targets a block at a time, for ``--fit-temperature``.

        Raises:
            OptionError: the family (or these inputs) has no temperature to fit.
        """
        ...
