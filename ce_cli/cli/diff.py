"""``ce-loss diff``: two models on the same samples, the difference of their mean losses and where it comes from."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from ce_cli.cli.options import (
    INPUTS,
    AlphaOption,
    ByClassOption,
    ClassAxisOption,
    DivergenceOption,
    DropColumnsOption,
    EpsOption,
    FormulaOption,
    HeaderOption,
    IdColumnOption,
    IgnoreIndexOption,
    LogitColumnsOption,
    LogprobsFormatOption,
    LogprobsOption,
    MaxRowsOption,
    NoWarningsOption,
    OptionalLogitsOption,
    PositionalFiles,
    PosWeightOption,
    SmoothingOption,
    SparseTeacherOption,
    TableFormatOption,
    TargetColumnOption,
    TargetsOption,
    TaskOption,
    TeacherFormOption,
    TeacherIndicesOption,
    TeacherOption,
    TemperatureOption,
    WeightOption,
)
from ce_cli.cli.short_help import HelpAllOption
from ce_cli.families.distill.defaults import (
    DEFAULT_ALPHA,
    DEFAULT_DIVERGENCE,
    DEFAULT_TEACHER_FORM,
    DEFAULT_TEMPERATURE,
)
from ce_cli.families.softmax.inputs import DEFAULT_CLASS_AXIS, DEFAULT_IGNORE_INDEX, DEFAULT_LABEL_SMOOTHING
from ce_cli.formulas import REFERENCE
from ce_cli.paired.defaults import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, DEFAULT_SEED
from ce_cli.records import replace

if TYPE_CHECKING:
    from ce_cli.paired.difference import Difference

STATISTICS = "Statistics"
DIFF_EXAMPLES = "\n\n".join(
    [
        "Examples:",
        "  $ ce-loss diff --logits new.npy --baseline old.npy --targets targets.npy",
        "  $ ce-loss diff -l new.csv --baseline old.csv --target-column label -f json",
        "  $ ce-loss diff -l new.npy --baseline old.npy -t targets.npy --worst 10 --by-class",
        "  $ ce-loss diff -l 'new/part-*.npy' -b 'old/part-*.npy' -t 'targets/part-*.npy' --plot d.png",
    ]
)


def diff_command(
    baseline: Annotated[
        str,
        typer.Option(
            "--baseline",
            "-b",
            metavar="SRC",
            help="The model NEW is compared with: its logits (or probabilities) in any form --logits takes, "
            "in the same shape (with --logprobs: its per-token log-probabilities of the same tokens).",
            rich_help_panel=INPUTS,
        ),
    ],
    logits: OptionalLogitsOption = None,
    targets: TargetsOption = None,
    target_column: TargetColumnOption = None,
    drop_columns: DropColumnsOption = None,
    logit_columns: LogitColumnsOption = None,
    id_column: IdColumnOption = None,
    header: HeaderOption = None,
    weight: WeightOption = None,
    ignore_index: IgnoreIndexOption = DEFAULT_IGNORE_INDEX,
    label_smoothing: SmoothingOption = DEFAULT_LABEL_SMOOTHING,
    class_axis: ClassAxisOption = DEFAULT_CLASS_AXIS,
    task: TaskOption = "multiclass",
    teacher: TeacherOption = None,
    teacher_indices: TeacherIndicesOption = None,
    temperature: TemperatureOption = DEFAULT_TEMPERATURE,
    alpha: AlphaOption = DEFAULT_ALPHA,
    divergence: DivergenceOption = DEFAULT_DIVERGENCE,
    teacher_form: TeacherFormOption = DEFAULT_TEACHER_FORM,
    sparse_teacher: SparseTeacherOption = None,
    formula: FormulaOption = REFERENCE,
    eps: EpsOption = None,
    pos_weight: PosWeightOption = None,
    bootstrap: Annotated[
        int,
        typer.Option(
            "--bootstrap",
            min=0,
            metavar="B",
            help="Bootstrap resamples for the interval (0: none).",
            rich_help_panel=STATISTICS,
        ),
    ] = DEFAULT_RESAMPLES,
    seed: Annotated[
        int,
        typer.Option(
            "--seed",
            metavar="S",
            help="The bootstrap's seed: the same seed, the same interval.",
            rich_help_panel=STATISTICS,
        ),
    ] = DEFAULT_SEED,
    confidence: Annotated[
        float,
        typer.Option(
            "--confidence",
            metavar="LEVEL",
            help="The interval's confidence level, in (0, 1).",
            rich_help_panel=STATISTICS,
        ),
    ] = DEFAULT_CONFIDENCE,
    by_class: ByClassOption = False,
    worst: Annotated[
        int,
        typer.Option(
            "--worst",
            min=0,
            metavar="K",
            help="List the K largest regressions (largest loss_new - loss_baseline).",
            rich_help_panel=STATISTICS,
        ),
    ] = 0,
    output_format: TableFormatOption = "table",
    max_rows: MaxRowsOption = 0,
    plot: Annotated[
        str | None,
        typer.Option(
            "--plot",
            metavar="FILE",
            help="Draw the histogram of per-sample differences, with 0 and delta's interval, into FILE "
            "(.png, .svg, .pdf; needs matplotlib).",
            rich_help_panel=STATISTICS,
        ),
    ] = None,
    no_warnings: NoWarningsOption = False,
    logprobs: LogprobsOption = None,
    logprobs_format: LogprobsFormatOption = "auto",
    help_all: HelpAllOption = False,
    files: PositionalFiles = None,
) -> None:
    """Compare two models on the same samples: the difference of mean losses, its interval, and where it comes from."""
    given = dict(locals())  # the options as given, before any other name is bound
    from ce_cli.blocks import default_threads
    from ce_cli.cli.arguments import eps_value, input_spec, load
    from ce_cli.cli.messages import result_warnings, user_errors, warnings_last
    from ce_cli.cli.streams import results_to_stdout
    from ce_cli.errors import OptionError
    from ce_cli.families import family_for
    from ce_cli.families.softmax.report import SummaryRequest
    from ce_cli.formulas import formula_spec
    from ce_cli.paired.difference import DiffRequest, paired_difference
    from ce_cli.paired.native import sums_kernel
    from ce_cli.paired.samples import check_pairs
    from ce_cli.progress import ProgressBar
    from ce_cli.render import RenderOptions, writer_for
    from ce_cli.render.diff import WRITERS

    with user_errors():
        if not 0.0 < confidence < 1.0:
            raise OptionError(f"--confidence must be in (0, 1), not {confidence}")
        request_ = DiffRequest(bootstrap, seed, confidence, by_class, worst)
        if plot is not None:
            from ce_cli.cli.calibration import check_plot_path

            check_plot_path(plot)
        if logprobs is not None:  # per-token log-probabilities of both models
            from ce_cli.cli.logprobs import paired_logprobs

            if logits is not None or targets is not None:
                raise OptionError(
                    "--logprobs holds the log-probabilities of the targets: give no --logits or --targets"
                )
            new_tokens, old_tokens = paired_logprobs(logprobs, baseline, logprobs_format)
            tokens = paired_difference(
                new_tokens, old_tokens, request_, kernel=sums_kernel(), threads=default_threads()
            )
            with results_to_stdout() as stdout:
                writer_for(WRITERS, output_format)(tokens, stdout, RenderOptions(max_rows=max_rows))
            _draw(plot, tokens)
            return
        if logits is None:
            raise OptionError("Missing option '--logits' (or --logprobs SRC, for per-token log-probabilities)")
        family = family_for(task)
        write = writer_for(WRITERS, output_format)
        clip = eps_value(eps, formula)
        spec = input_spec(given)
        chosen = formula_spec(formula)
        request = SummaryRequest(predictions=True, row_stats=True)  # the KL reuses each row's log-sum-exp
        new_inputs, read = load(replace(spec, logits=logits), family, silenced=no_warnings)
        base_inputs, _ = load(replace(spec, logits=baseline), family, silenced=no_warnings)
        with ProgressBar(family.size(new_inputs), sys.stderr, enabled=output_format == "table") as bar:
            new_report, base_report = family.compute_pair(
                new_inputs, base_inputs, chosen, "mean", eps=clip, request=request, progress=bar.update
            )
        new, old = family.paired(new_report), family.paired(base_report)
        check_pairs(new, old, (f"--logits '{logits}'", f"--baseline '{baseline}'"))
        kl = None
        if chosen.expects == "logits":  # a KL between softmax distributions needs logits
            with ProgressBar(family.size(new_inputs), sys.stderr, enabled=output_format == "table") as bar:
                every = family.divergence(new_inputs, base_inputs, bar.update, (new_report, base_report))
            kl = None if every is None else every[new.counted & old.counted]
        difference = paired_difference(
            new,
            old,
            request_,
            kl=kl,
            kernel=sums_kernel(),
            threads=default_threads(),
        )
        options = RenderOptions(max_rows=max_rows, names=read.sample_names, read=read.records)
        found = (*new_report.warnings, *base_report.warnings)
        with warnings_last(result_warnings(read, found), no_warnings), results_to_stdout() as stdout:
            write(difference, stdout, options)
        _draw(plot, difference)


def _draw(plot: str | None, difference: Difference) -> None:
    if plot is not None:
        from ce_cli.render.plots import difference_histogram

        difference_histogram(
            difference.differences(), difference.delta, difference.delta_ci, plot,
            confidence=difference.request.confidence,
        )  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add ``diff`` to the command line."""
    from ce_cli.cli.short_help import short_help

    shown = short_help(
        "help_all", "logits", "baseline", "targets", "target_column", "task", "bootstrap", "seed", "confidence",
        "by_class", "worst", "output_format", "plot",
    )  # fmt: skip
    app.command(name="diff", epilog=DIFF_EXAMPLES, cls=shown)(diff_command)
