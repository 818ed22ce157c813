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

import sys
from typing import Annotated

import typer

from ce_cli import __version__
from ce_cli.cli import compute, diff, pool
from ce_cli.cli.arguments import eps_value, input_spec, load, sample_position
from ce_cli.cli.messages import result_warnings, user_errors, warnings_last
from ce_cli.cli.options import (
    INPUTS,
    OUTPUT,
    AlphaOption,
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
    MaxRowsOption,
    NoWarningsOption,
    PositionalFiles,
    PosWeightOption,
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
    WeightOption,
)
from ce_cli.cli.short_help import short_help
from ce_cli.cli.streams import CLOSED_PIPE, quiet_closed_pipe, results_to_stdout
from ce_cli.cli.usage import OneLineUsageErrors, show_flags_without_a_type
from ce_cli.families import family_for
from ce_cli.families.distill.defaults import (
    DEFAULT_ALPHA,
    DEFAULT_DIVERGENCE,
    DEFAULT_TEACHER_FORM,
    DEFAULT_TEMPERATURE,
)
from ce_cli.families.softmax.inputs import DEFAULT_CLASS_AXIS, DEFAULT_IGNORE_INDEX, DEFAULT_LABEL_SMOOTHING
from ce_cli.formulas import REFERENCE
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


compute.register(app)  # first: the commands are listed in the order they are added

COMPARE_EXAMPLES = examples(
    "ce-loss compare --logits logits.npy --targets targets.npy",
    "ce-loss compare --logits probs.csv --targets labels.csv --format json",
    "ce-loss compare -l scores.npy -t labels.npy --task binary --conventions",
)
EXPLAIN_EXAMPLES = examples(
    "ce-loss explain --logits logits.npy --targets targets.npy --sample 3",
    "ce-loss explain --logits 0.1234,0.5555,0.3211 --targets 0",
    "ce-loss explain -l lm.npy -t tokens.npy --class-axis -1 --sample 0,5",
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


@app.command(epilog=COMPARE_EXAMPLES, cls=short_help())
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


@app.command(epilog=EXPLAIN_EXAMPLES, cls=short_help())
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
    from ce_cli.cli.typer_adapters import defer_option_converters, only_the_command_run

    defer_option_converters()
    try:
        only_the_command_run(app, sys.argv)()
    except BrokenPipeError:
        quiet_closed_pipe()
        sys.exit(CLOSED_PIPE)
