"""The ``ce-loss`` command line: parse, call the layers, write, exit status.

The only package that knows flags, exit codes and which stream gets what:
:mod:`~ce_cli.cli.options` declares the options, :mod:`~ce_cli.cli.arguments`
turns their text into values, :mod:`~ce_cli.cli.messages` words errors and
warnings, and this module runs the commands. Exit status: 0
success; 1 bad data (files, values, shapes, targets); 2 usage (unknown options
or choices, option values that cannot be honoured). Results go to stdout;
warnings and errors go to stderr, one line each. Only the project's own
:class:`~ce_cli.errors.CeLossError` becomes a user error: any other exception
is a bug and surfaces as one, with its traceback.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ce_cli import __version__
from ce_cli.cli import diff, pool
from ce_cli.cli.arguments import eps_value, input_spec, load, refuse_options, sample_position, summary_given
from ce_cli.cli.messages import result_warnings, user_errors, warnings_last
from ce_cli.cli.options import (
    INPUTS,
    OUTPUT,
    AlphaOption,
    ByClassOption,
    BytesOption,
    ClassAxisOption,
    ConventionOption,
    DivergenceOption,
    DropColumnsOption,
    EpsOption,
    ExplainFormat,
    FormulaOption,
    HeaderOption,
    IdColumnOption,
    IgnoreIndexOption,
    LogitColumnsOption,
    LogitsOption,
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
from ce_cli.cli.streams import CLOSED_PIPE, quiet_closed_pipe, results_to_stdout
from ce_cli.cli.usage import OneLineUsageErrors, OneValueEach, show_flags_without_a_type
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

show_flags_without_a_type()
app = typer.Typer(
    name="ce-loss",
    help="Cross-entropy losses as PyTorch computes them, checkable from the shell.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish and PowerShell
    pretty_exceptions_enable=False,
    cls=OneLineUsageErrors,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def examples(*commands: str) -> str:
    """An Examples section for the end of a command's help: one paragraph per invocation."""
    return "\n\n".join(["Examples:", *(f"  $ {command}" for command in commands)])


COMPUTE_EXAMPLES = examples(
    "ce-loss compute --logits logits.npy --targets targets.npy",
    "ce-loss compute --logits scores.csv --target-column label",
    "ce-loss compute -l probs.csv -t labels.csv --formula naive --eps auto",
    "loss=$(ce-loss compute -l logits.npy -t targets.npy -q)",
)
COMPARE_EXAMPLES = examples(
    "ce-loss compare --logits logits.npy --targets targets.npy",
    "ce-loss compare --logits probs.csv --targets labels.csv --format json",
)
EXPLAIN_EXAMPLES = examples(
    "ce-loss explain --logits logits.npy --targets targets.npy --sample 3",
    "ce-loss explain --logits 0.1234,0.5555,0.3211 --targets 0",
)


def _version(value: bool) -> None:
    if value:
        from ce_cli.native import version_line

        typer.echo(f"ce-loss {__version__}")
        typer.echo(version_line())
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Print the version and the kernel, and exit."
        ),
    ] = False,
) -> None:
    """Cross-entropy losses as PyTorch computes them, checkable from the shell."""


@app.command(epilog=COMPUTE_EXAMPLES, cls=OneValueEach)
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
            help="Print only the headline value (--reduction none: one loss per line).",
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
            help="Also write per-sample losses to PATH (.npy, .csv, .tsv).",
            rich_help_panel=OUTPUT,
        ),
    ] = None,
    by_class: ByClassOption = False,
    top_k: TopKOption = None,
    worst: WorstOption = 0,
    per_sequence: PerSequenceOption = False,
    no_warnings: NoWarningsOption = False,
    logprobs: LogprobsOption = None,
    logprobs_format: LogprobsFormatOption = "auto",
    words: WordsOption = None,
    num_bytes: BytesOption = None,
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
        shows_predictions = output is not None or not (quiet or output_format == "json")  # tables and CSV do
        request = SummaryRequest(
            by_class=by_class,
            top_k=top_k_values(top_k),
            worst=worst,
            per_sequence=per_sequence,
            predictions=shows_predictions,
        )
        refuse_options(family, summary_given(request))
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
        inputs, read = load(spec, family, silenced=no_warnings)
        with ProgressBar(family.size(inputs), sys.stderr, enabled=not quiet) as bar:
            report = family.compute(
                inputs, chosen, reduction_named(reduction), eps=clip, request=request, progress=bar.update
            )
        state = family.accumulate(report).json() if output_format == "json" else None  # what pool merges
        options = RenderOptions(max_rows=max_rows, names=read.sample_names, read=read.records, state=state)
        with warnings_last(result_warnings(read, report.warnings), no_warnings):
            if output is not None:
                encode = family.losses_file_encoders[suffix_of(output)]
                write_atomically(output, lambda stream: encode(report, options, stream), name="--output")
            with results_to_stdout() as stdout:
                if quiet:
                    family.write_quiet(report, stdout)
                else:
                    write(report, stdout, options)


@app.command(epilog=COMPARE_EXAMPLES, cls=OneValueEach)
def compare(
    logits: LogitsOption,
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
    conventions: Annotated[
        bool,
        typer.Option("--conventions", help="Every framework's number on this input, beside PyTorch's, and why."),
    ] = False,
    sample_weight: SampleWeightOption = None,
    formula: FormulaOption = REFERENCE,
    eps: EpsOption = None,
    pos_weight: PosWeightOption = None,
    output_format: TableFormatOption = "table",
    max_rows: MaxRowsOption = DEFAULT_MAX_ROWS,
    no_warnings: NoWarningsOption = False,
    files: PositionalFiles = None,
) -> None:
    """Every formula side by side, with each one's difference to cross_entropy."""
    given = dict(locals())  # the options as given, before any other name is bound
    from ce_cli.progress import ProgressBar

    with user_errors():
        family = family_for(task)
        spec = input_spec(given)
        if conventions or convention != "pytorch":
            from ce_cli.cli.conventions import compare_conventions

            compare_conventions(
                family, spec, formula=formula, sample_weight=sample_weight, output_format=output_format,
                no_warnings=no_warnings,
            )  # fmt: skip
            return
        write = writer_for(family.compare_writers, output_format)
        clip = eps_value(eps, None)
        inputs, read = load(spec, family, silenced=no_warnings)
        with ProgressBar(family.size(inputs), sys.stderr) as bar:
            comparison = family.compare(inputs, eps=clip, progress=bar.update)
        options = RenderOptions(max_rows=max_rows, names=read.sample_names, read=read.records)
        with warnings_last(result_warnings(read, comparison.warnings), no_warnings), results_to_stdout() as stdout:
            write(comparison, stdout, options)


@app.command(epilog=EXPLAIN_EXAMPLES, cls=OneValueEach)
def explain(
    logits: LogitsOption,
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
    formula: FormulaOption = REFERENCE,
    pos_weight: PosWeightOption = None,
    sample: Annotated[
        str,
        typer.Option(
            "--sample",
            "-s",
            metavar="INDEX",
            help="The sample: a flat index, or a tuple such as 2,3 for K-dim input.",
            rich_help_panel=INPUTS,
        ),
    ] = "0",
    output_format: Annotated[
        ExplainFormat,
        typer.Option("--format", "-f", help="table (the worked derivation) or json.", rich_help_panel=OUTPUT),
    ] = "table",
    max_rows: MaxRowsOption = DEFAULT_MAX_ROWS,
    no_warnings: NoWarningsOption = False,
    files: PositionalFiles = None,
) -> None:
    """Derive one sample's loss step by step: max shift, logsumexp, NLL, gradient, and every formula."""
    given = dict(locals())  # the options as given, before any other name is bound
    with user_errors():
        family = family_for(task)
        spec = input_spec(given)
        if convention != "pytorch":
            from ce_cli.cli.conventions import explain_convention

            explain_convention(
                family, spec, convention=convention, formula=formula, sample=sample, output_format=output_format,
                no_warnings=no_warnings,
            )  # fmt: skip
            return
        write = writer_for(family.explain_writers, output_format)
        inputs, read = load(spec, family, silenced=no_warnings)
        derivation, found = family.explain(inputs, sample_position(sample, family.sample_shape(inputs)))
        warnings = result_warnings(read, found)
        options = RenderOptions(max_rows=max_rows, names=read.sample_names, read=read.records)
        with warnings_last(warnings, no_warnings), results_to_stdout() as stdout:
            write(derivation, stdout, options)


diff.register(app)
pool.register(app)


def main() -> None:
    """Console-script entry point; a closed pipe (``ce-loss ... | head``) ends quietly with status 141."""
    from ce_cli.cli.typer_adapters import only_the_command_run, share_plain_adapters

    share_plain_adapters()
    try:
        only_the_command_run(app, sys.argv)()
    except BrokenPipeError:
        quiet_closed_pipe()
        sys.exit(CLOSED_PIPE)
