"""``ce-loss compute``: per-sample and reduced losses, with the summary, calibration and pictures asked for."""

import sys
from typing import Annotated

import typer

from ce_cli.calibration.bins import DEFAULT_BINS
from ce_cli.cli.arguments import eps_value, input_spec, load, refuse_options, summary_given
from ce_cli.cli.calibration import (
    BinningOption,
    BinsOption,
    BootstrapOption,
    CalibrationOption,
    CalibrationRequest,
    FitTemperatureOption,
    PlotOption,
    SeedOption,
    calibrate,
    draw_compute_plot,
)
from ce_cli.cli.calibration import check_request as check_calibration
from ce_cli.cli.messages import result_warnings, user_errors, warnings_last
from ce_cli.cli.options import (
    OUTPUT,
    AlphaOption,
    ByClassOption,
    BytesOption,
    ClassAxisOption,
    ConventionOption,
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
    PerSequenceOption,
    PositionalFiles,
    PosWeightOption,
    ReductionOption,
    SampleWeightOption,
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
    TopKOption,
    WeightOption,
    WordsOption,
    WorstOption,
    top_k_values,
)
from ce_cli.cli.short_help import HelpAllOption
from ce_cli.cli.streams import results_to_stdout
from ce_cli.families import family_for
from ce_cli.families.distill.defaults import (
    DEFAULT_ALPHA,
    DEFAULT_DIVERGENCE,
    DEFAULT_TEACHER_FORM,
    DEFAULT_TEMPERATURE,
)
from ce_cli.families.softmax.inputs import DEFAULT_CLASS_AXIS, DEFAULT_IGNORE_INDEX, DEFAULT_LABEL_SMOOTHING
from ce_cli.families.softmax.losses import reduction_named
from ce_cli.formulas import REFERENCE
from ce_cli.io.sources import source_files
from ce_cli.render import DEFAULT_MAX_ROWS, RenderOptions, writer_for

COMPUTE_EXAMPLES = "\n\n".join(
    [
        "Examples:",
        *(
            f"  $ {command}"
            for command in (
                "ce-loss compute --logits logits.npy --targets targets.npy",
                "ce-loss compute --logits scores.csv --target-column label",
                "ce-loss compute -l probs.csv -t labels.csv --formula naive --eps auto",
                "loss=$(ce-loss compute -l 'shards/x-*.npy' -t 'shards/t-*.npy' -q)",
                "ce-loss compute -l lm.npy -t tokens.npy --class-axis -1 --per-sequence",
                "ce-loss compute -l scores.npy -t labels.npy --task binary --calibration",
            )
        ),
    ]
)


def compute(
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
    convention: ConventionOption = "pytorch",
    sample_weight: SampleWeightOption = None,
    formula: FormulaOption = REFERENCE,
    eps: EpsOption = None,
    pos_weight: PosWeightOption = None,
    reduction: ReductionOption = "mean",
    output_format: TableFormatOption = "table",
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            help="Print only the headline value (--reduction none: a loss per line).",
            rich_help_panel=OUTPUT,
        ),
    ] = False,
    max_rows: MaxRowsOption = DEFAULT_MAX_ROWS,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="PATH",
            help="Also write the per-sample losses to PATH (.npy, .csv, .tsv).",
            rich_help_panel=OUTPUT,
        ),
    ] = None,
    by_class: ByClassOption = False,
    top_k: TopKOption = None,
    worst: WorstOption = 0,
    per_sequence: PerSequenceOption = False,
    calibration: CalibrationOption = False,
    bins: BinsOption = DEFAULT_BINS,
    binning: BinningOption = "uniform",
    fit_temperature: FitTemperatureOption = False,
    bootstrap: BootstrapOption = 0,
    seed: SeedOption = 0,
    plot: PlotOption = None,
    no_warnings: NoWarningsOption = False,
    logprobs: LogprobsOption = None,
    logprobs_format: LogprobsFormatOption = "auto",
    words: WordsOption = None,
    num_bytes: BytesOption = None,
    help_all: HelpAllOption = False,
    files: PositionalFiles = None,
) -> None:
    """Compute per-sample and reduced cross-entropy losses (--task binary: per element, as BCE with logits)."""
    given = dict(locals())  # the options as given, before any other name is bound
    from ce_cli.families.softmax.report import SummaryRequest
    from ce_cli.formulas import formula_spec
    from ce_cli.io.losses_file import check_output_path, suffix_of, write_atomically
    from ce_cli.progress import ProgressBar

    with user_errors():
        if logprobs is not None:
            from ce_cli.cli.logprobs import compute_logprobs, given_with_logprobs

            compute_logprobs(
                logprobs, fmt=logprobs_format, words=words, num_bytes=num_bytes, output_format=output_format,
                quiet=quiet, no_warnings=no_warnings, others=given_with_logprobs(given),
            )  # fmt: skip
            return
        if logits is None:
            from ce_cli.errors import OptionError

            raise OptionError("Missing option '--logits' (or --logprobs SRC, for per-token log-probabilities)")
        family = family_for(task)
        if quiet and output_format != "table":
            from ce_cli.errors import OptionError

            raise OptionError(
                f"-q prints the headline value alone, and -f {output_format} the whole result: give one of them"
            )
        write = writer_for(family.compute_writers, output_format)
        clip = eps_value(eps, formula)
        shows_predictions = plot is not None or output is not None or not (quiet or output_format == "json")
        request = SummaryRequest(
            by_class=by_class,
            top_k=top_k_values(top_k),
            worst=worst,
            per_sequence=per_sequence,
            predictions=shows_predictions,
        )
        refuse_options(family, summary_given(request))
        calibrating = CalibrationRequest(calibration, bins, binning, fit_temperature, bootstrap, seed)
        check_calibration(calibrating, output_format=output_format, quiet=quiet)
        if plot is not None:
            from ce_cli.cli.calibration import check_plot_path

            check_plot_path(plot)
        if output is not None:
            files = [
                path for src in (logits, targets, weight, pos_weight) if src is not None for path in source_files(src)
            ]
            check_output_path(output, family.losses_file_encoders, name="--output", inputs=files)
        spec = input_spec(given)
        chosen = formula_spec(formula)
        if convention != "pytorch" or sample_weight is not None:
            from ce_cli.cli.conventions import compute_with_convention
            from ce_cli.errors import OptionError

            shown_apart = {
                "--output": output is not None,
                "--calibration": calibration,
                "--fit-temperature": fit_temperature,
                "--plot": plot is not None,
                **{f"--{k.replace('_', '-')}": v for k, v in summary_given(request).items()},
            }
            for flag in (flag for flag, present in shown_apart.items() if present):  # nothing they ask for is written
                raise OptionError(
                    f"{flag} is not an option with --convention or --sample-weight, which give the framework's number"
                )

            compute_with_convention(
                family, spec, convention=convention, formula=formula, reduction=reduction,
                sample_weight=sample_weight, output_format=output_format, quiet=quiet, no_warnings=no_warnings,
            )  # fmt: skip
            return
        inputs, read = load(spec, family, silenced=no_warnings, quiet=quiet)
        outcome = calibrate(family, inputs, chosen, calibrating) if calibrating.asked else None  # may refuse
        with ProgressBar(family.size(inputs), sys.stderr, enabled=not quiet) as bar:
            report = family.compute(
                inputs, chosen, reduction_named(reduction), eps=clip, request=request, progress=bar.update
            )
        stats = family.accumulate(report) if output_format == "json" else None  # what pool merges
        if stats is not None and outcome is not None and outcome.calibration is not None:
            stats.calibration = outcome.calibration.sums if binning == "uniform" else None  # quantile bins: not
        if outcome is not None:
            from ce_cli.render.calibration import outcome_json
            from ce_cli.render.calibration import write_table as write_calibration
        extra = None if outcome is None else outcome_json(outcome)
        options = RenderOptions(
            max_rows=max_rows,
            names=read.sample_names,
            read=read.records,
            state=None if stats is None else stats.json(),
            extra=extra,
        )
        with warnings_last(result_warnings(read, report.warnings), no_warnings):
            if output is not None:
                encode = family.losses_file_encoders[suffix_of(output)]
                write_atomically(output, lambda stream: encode(report, options, stream), name="--output")
            with results_to_stdout() as stdout:
                if quiet:
                    family.write_quiet(report, stdout)
                else:
                    write(report, stdout, options)
                    if outcome is not None and output_format == "table":
                        write_calibration(outcome, stdout)
            if plot is not None:
                draw_compute_plot(plot, family, report, outcome, by_class)


def register(app: typer.Typer) -> None:
    """Add ``compute`` to the command line (``--help``: the options below; ``--help-all``: every one)."""
    from ce_cli.cli.short_help import short_help

    shown = short_help(
        "help_all", "logits", "targets", "target_column", "task", "formula", "output_format", "quiet", "output",
        "by_class", "calibration", "plot",
    )  # fmt: skip
    app.command(name="compute", epilog=COMPUTE_EXAMPLES, cls=shown)(compute)
