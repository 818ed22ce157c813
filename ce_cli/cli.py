"""The ``ce-loss`` command line: parse, call the layers, write, exit status.

The only module that knows flags, exit codes and which stream gets what. Exit status: 0
success; 1 bad data (files, values, shapes, targets); 2 usage (unknown options
or choices, option values that cannot be honoured). Results go to stdout;
warnings and errors go to stderr, one line each. Only the project's own
:class:`~ce_cli.errors.CeLossError` becomes a user error: any other exception
is a bug and surfaces as one, with its traceback.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Literal, TypeAlias, assert_never

import numpy as np
import typer

from ce_cli import __version__
from ce_cli.data_warnings import (
    DataWarning,
    EveryTargetIgnored,
    NonFiniteLogits,
    NotProbabilities,
    ProbabilitiesGivenAsLogits,
)
from ce_cli.errors import CeLossError, ClassAxisError, OptionError
from ce_cli.formulas import FORMULAS, REFERENCE, REGISTRY
from ce_cli.io.inputs import InputSpec, load_inputs
from ce_cli.losses import REDUCTIONS, reduction_named
from ce_cli.render import DEFAULT_MAX_ROWS, RenderOptions, writer_for
from ce_cli.render import compare as compare_writers
from ce_cli.render import compute as compute_writers
from ce_cli.render import explain as explain_writers
from ce_cli.validate import DEFAULT_CLASS_AXIS, DEFAULT_IGNORE_INDEX, DEFAULT_LABEL_SMOOTHING, ValidatedInputs

app = typer.Typer(
    name="ce-loss",
    help="Cross-entropy losses as PyTorch computes them, checkable from the shell.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

INPUTS, PYTORCH, OUTPUT = "Inputs", "PyTorch options", "Output"

# Choices come from the registry and the writer tables; Typer turns a Literal into a choice of its values.
if TYPE_CHECKING:
    FormulaName: TypeAlias = str
    ReductionName: TypeAlias = str
    TableFormat: TypeAlias = str
    ExplainFormat: TypeAlias = str
else:
    FormulaName = Literal[FORMULAS]
    ReductionName = Literal[REDUCTIONS]
    TableFormat = Literal[tuple(compute_writers.WRITERS)]
    ExplainFormat = Literal[tuple(explain_writers.WRITERS)]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ce-loss {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Cross-entropy losses as PyTorch computes them, checkable from the shell."""


def _formula_help() -> str:
    described = [f"{spec.name} ({spec.summary})" for spec in REGISTRY.values()]
    return f"{', '.join(described[:-1])} or {described[-1]}."


LogitsOption = Annotated[
    str,
    typer.Option(
        "--logits",
        "-l",
        metavar="SRC",
        help="Logits: a .npy/.npz[:key]/.csv/.tsv/.txt file, '-' for stdin, or inline '0.1,0.5;0.2,0.3'.",
        rich_help_panel=INPUTS,
    ),
]
TargetsOption = Annotated[
    str | None,
    typer.Option(
        "--targets",
        "-t",
        metavar="SRC",
        help="Targets: class indices (or probabilities of the logits' shape), in any SRC form.",
        rich_help_panel=INPUTS,
    ),
]
TargetColumnOption = Annotated[
    str | None,
    typer.Option(
        "--target-column",
        metavar="NAME|INDEX",
        help="Take the targets from this column of the logits table instead of --targets.",
        rich_help_panel=INPUTS,
    ),
]
WeightOption = Annotated[
    str | None,
    typer.Option(
        "--weight", "-w", metavar="SRC", help="Class weights, length C, in any SRC form.", rich_help_panel=PYTORCH
    ),
]
IgnoreIndexOption = Annotated[
    int,
    typer.Option(
        "--ignore-index",
        help="Index targets equal to this contribute nothing (PyTorch's default).",
        rich_help_panel=PYTORCH,
    ),
]
SmoothingOption = Annotated[
    float,
    typer.Option("--label-smoothing", min=0.0, max=1.0, help="Label smoothing E in [0, 1].", rich_help_panel=PYTORCH),
]
ClassAxisOption = Annotated[
    int,
    typer.Option(
        "--class-axis",
        help="The class axis of the logits: 1 as in PyTorch, -1 for (batch, time, vocab).",
        rich_help_panel=PYTORCH,
    ),
]
FormulaOption = Annotated[FormulaName, typer.Option("--formula", help=_formula_help(), rich_help_panel=PYTORCH)]
ReductionOption = Annotated[
    ReductionName, typer.Option("--reduction", help="The headline value: mean, sum or none.", rich_help_panel=PYTORCH)
]
NoWarningsOption = Annotated[
    bool, typer.Option("--no-warnings", help="Do not print warnings about the data.", rich_help_panel=OUTPUT)
]
TableFormatOption = Annotated[
    TableFormat,
    typer.Option("--format", "-f", help="table (for people), json, csv or tsv (for scripts).", rich_help_panel=OUTPUT),
]
MaxRowsOption = Annotated[
    int,
    typer.Option("--max-rows", min=0, help="Table rows shown before eliding the middle.", rich_help_panel=OUTPUT),
]


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn the project's errors into one line on stderr and their exit status."""
    try:
        yield
    except CeLossError as error:
        typer.echo(f"ce-loss: error: {error}{_advice(error)}", err=True)
        raise typer.Exit(error.exit_code) from None


def _advice(error: CeLossError) -> str:
    """The option that fixes an error, where the error knows it."""
    if isinstance(error, ClassAxisError):
        if error.fits == DEFAULT_CLASS_AXIS:
            return f": leave out --class-axis ({DEFAULT_CLASS_AXIS} is the default)"
        return f": use --class-axis {error.fits}"
    return ""


def _warning_text(warning: DataWarning) -> str:
    """The sentence for a warning about the data, with the option that helps."""
    match warning:
        case ProbabilitiesGivenAsLogits(formula=formula, instead=instead):
            return (
                f"the logits look like probabilities (every row is in [0, 1] and sums to 1), but {formula} expects "
                f"logits (raw scores) and applies softmax to them again; if these are probabilities, "
                f"use --formula {instead}"
            )
        case NotProbabilities(formula=formula, rows=rows, samples=samples, instead=instead):
            return (
                f"{formula} expects probabilities, but {rows} of {samples} rows have values outside (0, 1] "
                f"or do not sum to 1; for logits (raw scores) use --formula {instead}"
            )
        case NonFiniteLogits(affected=affected, samples=samples):
            return (
                f"{affected} of {samples} samples have NaN or infinite logits that make their loss NaN or "
                "infinite (computed as PyTorch does: NaN and +inf give NaN, a -inf target logit gives +inf)"
            )
        case EveryTargetIgnored(ignore_index=ignore_index):
            return (
                f"every target is the ignore index {ignore_index}: the mean is NaN (0/0) and the sum 0, as in PyTorch"
            )
        case _:
            assert_never(warning)


def _warn_all(warnings: Iterable[DataWarning], silenced: bool) -> None:
    """One line on stderr per warning, unless silenced."""
    if not silenced:
        for warning in warnings:
            typer.echo(f"ce-loss: warning: {_warning_text(warning)}", err=True)


def _load(spec: InputSpec) -> ValidatedInputs:
    """Read and validate the inputs; ``-`` reads this process's stdin."""
    if (spec.targets is None) == (spec.target_column is None):
        raise OptionError("give the targets with exactly one of --targets SRC and --target-column NAME|INDEX")
    if not 0.0 <= spec.label_smoothing <= 1.0:  # NaN, which Typer's range check lets through before 0.20
        raise OptionError(f"--label-smoothing must be in [0, 1], not {spec.label_smoothing}")
    return load_inputs(spec, typer.get_binary_stream("stdin"))


def _sample_position(text: str, sample_shape: tuple[int, ...]) -> int:
    """The flat position ``--sample`` names: a flat index ``"7"`` or a tuple ``"2,3"``/``"(2, 3)"``."""
    count = int(np.prod(sample_shape))
    parts = [p for p in re.split(r"[,\s]+", text.strip().strip("()[]")) if p]
    if not parts or not all(re.fullmatch(r"-?\d+", p) for p in parts):
        raise OptionError(f"--sample {text!r} is not an index (give a number, or a tuple such as 2,3)")
    numbers = [int(p) for p in parts]
    if len(numbers) == 1:
        (flat,) = numbers
        if not -count <= flat < count:
            raise OptionError(f"--sample {flat} is out of range: there are {count} samples (0..{count - 1})")
        return flat % count
    if len(numbers) != len(sample_shape) or not all(-n <= i < n for i, n in zip(numbers, sample_shape, strict=True)):
        raise OptionError(f"--sample {text!r} does not fit the samples' shape {sample_shape}")
    return int(np.ravel_multi_index(tuple(i % n for i, n in zip(numbers, sample_shape, strict=True)), sample_shape))


@app.command()
def compute(
    logits: LogitsOption,
    targets: TargetsOption = None,
    target_column: TargetColumnOption = None,
    weight: WeightOption = None,
    ignore_index: IgnoreIndexOption = DEFAULT_IGNORE_INDEX,
    label_smoothing: SmoothingOption = DEFAULT_LABEL_SMOOTHING,
    class_axis: ClassAxisOption = DEFAULT_CLASS_AXIS,
    formula: FormulaOption = REFERENCE,
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
    no_warnings: NoWarningsOption = False,
) -> None:
    """Compute per-sample and reduced cross-entropy losses."""
    from ce_cli.formulas import formula_spec
    from ce_cli.io.losses_file import check_output_path, suffix_of, write_atomically
    from ce_cli.progress import ProgressBar
    from ce_cli.report import build_report

    with _user_errors():
        write = writer_for(compute_writers.WRITERS, output_format)
        if output is not None:
            check_output_path(output, compute_writers.LOSSES_FILE_ENCODERS, name="--output")
        spec = InputSpec(
            logits=logits,
            targets=targets,
            target_column=target_column,
            weight=weight,
            ignore_index=ignore_index,
            label_smoothing=label_smoothing,
            class_axis=class_axis,
        )
        inputs = _load(spec)
        with ProgressBar(inputs.num_samples, sys.stderr, enabled=not quiet) as bar:
            report = build_report(inputs, formula_spec(formula), reduction_named(reduction), progress=bar.update)
        _warn_all(report.warnings, no_warnings)
        if output is not None:
            encode = compute_writers.LOSSES_FILE_ENCODERS[suffix_of(output)]
            write_atomically(output, encode(report), name="--output")
        if quiet:
            compute_writers.write_quiet(report, sys.stdout)
        else:
            write(report, sys.stdout, RenderOptions(max_rows=max_rows))


@app.command()
def compare(
    logits: LogitsOption,
    targets: TargetsOption = None,
    target_column: TargetColumnOption = None,
    weight: WeightOption = None,
    ignore_index: IgnoreIndexOption = DEFAULT_IGNORE_INDEX,
    label_smoothing: SmoothingOption = DEFAULT_LABEL_SMOOTHING,
    class_axis: ClassAxisOption = DEFAULT_CLASS_AXIS,
    output_format: TableFormatOption = "table",
    max_rows: MaxRowsOption = DEFAULT_MAX_ROWS,
    no_warnings: NoWarningsOption = False,
) -> None:
    """Every formula side by side, with each one's difference to cross_entropy."""
    from ce_cli.comparison import compare_formulas, compared_formulas
    from ce_cli.progress import ProgressBar

    with _user_errors():
        write = writer_for(compare_writers.WRITERS, output_format)
        spec = InputSpec(
            logits=logits,
            targets=targets,
            target_column=target_column,
            weight=weight,
            ignore_index=ignore_index,
            label_smoothing=label_smoothing,
            class_axis=class_axis,
        )
        inputs = _load(spec)
        with ProgressBar(len(compared_formulas()) * inputs.num_samples, sys.stderr) as bar:
            comparison = compare_formulas(inputs, progress=bar.update)
        _warn_all(comparison.warnings, no_warnings)
        write(comparison, sys.stdout, RenderOptions(max_rows=max_rows))


@app.command()
def explain(
    logits: LogitsOption,
    targets: TargetsOption = None,
    target_column: TargetColumnOption = None,
    weight: WeightOption = None,
    ignore_index: IgnoreIndexOption = DEFAULT_IGNORE_INDEX,
    label_smoothing: SmoothingOption = DEFAULT_LABEL_SMOOTHING,
    class_axis: ClassAxisOption = DEFAULT_CLASS_AXIS,
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
) -> None:
    """Derive one sample's loss step by step: max shift, logsumexp, NLL, gradient, and every formula."""
    from ce_cli.derivation import derive

    with _user_errors():
        write = writer_for(explain_writers.WRITERS, output_format)
        spec = InputSpec(
            logits=logits,
            targets=targets,
            target_column=target_column,
            weight=weight,
            ignore_index=ignore_index,
            label_smoothing=label_smoothing,
            class_axis=class_axis,
        )
        inputs = _load(spec)
        derivation = derive(inputs, _sample_position(sample, inputs.sample_shape))
        write(derivation, sys.stdout, RenderOptions())


def main() -> None:
    """Console-script entry point; a closed pipe (``ce-loss ... | head``) ends quietly."""
    try:
        app()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(141)
