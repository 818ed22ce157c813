"""The ``ce-loss`` command line: parse options, call the layers, own exit codes.

Exit status: 0 success; 1 bad data (files, values, shapes, targets); 2 usage
(unknown options or choices, option values that cannot be honoured). Results
go to stdout; warnings and errors go to stderr, one line each. Only the
project's own :class:`~ce_cli.errors.CeLossError` becomes a user error: any
other exception is a bug and surfaces as one, with its traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

import typer

from ce_cli import __version__
from ce_cli.errors import CeLossError, OptionError
from ce_cli.formulas import FORMULAS, Formula, Reduction
from ce_cli.render import Format
from ce_cli.validate import Problem

ExplainFormat = Literal["table", "json"]

app = typer.Typer(
    name="ce-loss",
    help="Cross-entropy losses as PyTorch computes them, checkable from the shell.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn the project's errors into one line on stderr and their exit status."""
    try:
        yield
    except CeLossError as error:
        typer.echo(f"ce-loss: error: {error}", err=True)
        raise typer.Exit(error.exit_code) from None


def _warn_all(messages: tuple[str, ...], silenced: bool) -> None:
    """One line on stderr per warning, unless silenced."""
    if not silenced:
        for message in messages:
            typer.echo(f"ce-loss: warning: {message}", err=True)


LogitsOption = Annotated[
    str,
    typer.Option(
        "--logits",
        "-l",
        metavar="SRC",
        help="Logits: a .npy/.npz[:key]/.csv/.tsv/.txt file, '-' for stdin, or inline '0.1,0.5;0.2,0.3'.",
    ),
]
TargetsOption = Annotated[
    str | None,
    typer.Option(
        "--targets",
        "-t",
        metavar="SRC",
        help="Targets: class indices (or probabilities of the logits' shape), in any SRC form.",
    ),
]
TargetColumnOption = Annotated[
    str | None,
    typer.Option(
        "--target-column",
        metavar="NAME|INDEX",
        help="Take the targets from this column of the logits table instead of --targets.",
    ),
]
WeightOption = Annotated[
    str | None, typer.Option("--weight", "-w", metavar="SRC", help="Class weights, length C, in any SRC form.")
]
IgnoreIndexOption = Annotated[
    int, typer.Option("--ignore-index", help="Index targets equal to this contribute nothing (PyTorch's default).")
]
SmoothingOption = Annotated[
    float, typer.Option("--label-smoothing", min=0.0, max=1.0, help="Label smoothing E in [0, 1].")
]
ClassAxisOption = Annotated[
    int,
    typer.Option("--class-axis", help="The class axis of the logits: 1 as in PyTorch, -1 for (batch, time, vocab)."),
]
FormulaOption = Annotated[
    Formula,
    typer.Option("--formula", help="cross_entropy (fused, as PyTorch), log_softmax_nll (two steps) or naive (-log q)."),
]
ReductionOption = Annotated[Reduction, typer.Option("--reduction", help="The headline value: mean, sum or none.")]
NoWarningsOption = Annotated[bool, typer.Option("--no-warnings", help="Do not print warnings about the data.")]
FormatOption = Annotated[
    Format, typer.Option("--format", "-f", help="table (for people), json, csv or tsv (for scripts).")
]
MaxRowsOption = Annotated[int, typer.Option("--max-rows", min=0, help="Table rows shown before eliding the middle.")]


def _load_problem(
    logits: str,
    targets: str | None,
    target_column: str | None,
    weight: str | None,
    ignore_index: int,
    label_smoothing: float,
    class_axis: int,
) -> Problem:
    """Read every source and validate them together."""
    from ce_cli.sources import load, split_column
    from ce_cli.validate import prepare

    if (targets is None) == (target_column is None):
        raise OptionError("give the targets with exactly one of --targets SRC and --target-column NAME|INDEX")
    sources = [s for s in (logits, targets, weight) if s is not None]
    if sources.count("-") > 1:
        raise OptionError("only one source can read stdin ('-')")
    stdin = typer.get_binary_stream("stdin")
    loaded_logits = load(logits, "logits", stdin)
    if target_column is not None:
        logit_values, target_values = split_column(loaded_logits, target_column)
        targets_label = f"target column {target_column!r} of {loaded_logits.label}"
    else:
        assert targets is not None
        loaded_targets = load(targets, "targets", stdin)
        logit_values, target_values = loaded_logits.array, loaded_targets.array
        targets_label = loaded_targets.label
    weight_values: Any = None
    weight_label = "weight"
    if weight is not None:
        loaded_weight = load(weight, "weight", stdin)
        weight_values, weight_label = loaded_weight.array, loaded_weight.label
    return prepare(
        logit_values,
        target_values,
        weight=weight_values,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        class_axis=class_axis,
        names=(loaded_logits.label, targets_label, weight_label),
    )


@app.command()
def compute(
    logits: LogitsOption,
    targets: TargetsOption = None,
    target_column: TargetColumnOption = None,
    weight: WeightOption = None,
    ignore_index: IgnoreIndexOption = -100,
    label_smoothing: SmoothingOption = 0.0,
    class_axis: ClassAxisOption = 1,
    formula: FormulaOption = "cross_entropy",
    reduction: ReductionOption = "mean",
    output_format: FormatOption = "table",
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the headline value (--reduction none: one loss per line).")
    ] = False,
    max_rows: MaxRowsOption = 20,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", metavar="PATH", help="Also write per-sample losses to PATH (.npy, .csv, .tsv)."),
    ] = None,
    no_warnings: NoWarningsOption = False,
) -> None:
    """Compute per-sample and reduced cross-entropy losses."""
    from ce_cli import render
    from ce_cli.output import check_output_path, write_losses
    from ce_cli.progress import ProgressBar
    from ce_cli.report import build_report

    with _user_errors():
        if output is not None:
            check_output_path(output)
        problem = _load_problem(logits, targets, target_column, weight, ignore_index, label_smoothing, class_axis)
        with ProgressBar(problem.rows.shape[0], sys.stderr, enabled=not quiet) as bar:
            report = build_report(problem, formula, reduction, progress=bar.update)
        _warn_all(report.warnings, no_warnings)
        if output is not None:
            write_losses(output, report)
        stdout = sys.stdout
        if quiet:
            render.write_quiet(report, stdout)
        elif output_format == "json":
            render.write_json(report, stdout)
        elif output_format in ("csv", "tsv"):
            render.write_delimited(report, stdout, delimiter="," if output_format == "csv" else "\t")
        else:
            render.write_table(report, stdout, max_rows=max_rows)


@app.command()
def compare(
    logits: LogitsOption,
    targets: TargetsOption = None,
    target_column: TargetColumnOption = None,
    weight: WeightOption = None,
    ignore_index: IgnoreIndexOption = -100,
    label_smoothing: SmoothingOption = 0.0,
    class_axis: ClassAxisOption = 1,
    output_format: FormatOption = "table",
    max_rows: MaxRowsOption = 20,
    no_warnings: NoWarningsOption = False,
) -> None:
    """All three formulas side by side, with each one's difference to cross_entropy."""
    from ce_cli import render_compare
    from ce_cli.compare import compare as compare_formulas
    from ce_cli.progress import ProgressBar

    with _user_errors():
        problem = _load_problem(logits, targets, target_column, weight, ignore_index, label_smoothing, class_axis)
        with ProgressBar(len(FORMULAS) * problem.rows.shape[0], sys.stderr) as bar:
            comparison = compare_formulas(problem, progress=bar.update)
        _warn_all(comparison.warnings, no_warnings)
        if output_format == "json":
            render_compare.write_json(comparison, sys.stdout)
        elif output_format in ("csv", "tsv"):
            render_compare.write_delimited(comparison, sys.stdout, delimiter="," if output_format == "csv" else "\t")
        else:
            render_compare.write_table(comparison, sys.stdout, max_rows=max_rows)


@app.command()
def explain(
    logits: LogitsOption,
    targets: TargetsOption = None,
    target_column: TargetColumnOption = None,
    weight: WeightOption = None,
    ignore_index: IgnoreIndexOption = -100,
    label_smoothing: SmoothingOption = 0.0,
    class_axis: ClassAxisOption = 1,
    sample: Annotated[
        str, typer.Option("--sample", "-s", help="The sample: a flat index, or a tuple such as 2,3 for K-dim input.")
    ] = "0",
    output_format: Annotated[
        ExplainFormat, typer.Option("--format", "-f", help="table (the worked derivation) or json.")
    ] = "table",
) -> None:
    """Derive one sample's loss step by step: max shift, logsumexp, NLL, gradient, and naive."""
    from ce_cli import render_explain
    from ce_cli.explain import explain as derive
    from ce_cli.explain import resolve_sample

    with _user_errors():
        problem = _load_problem(logits, targets, target_column, weight, ignore_index, label_smoothing, class_axis)
        derivation = derive(problem, resolve_sample(sample, problem.sample_shape))
        if output_format == "json":
            render_explain.write_json(derivation, sys.stdout)
        else:
            render_explain.write_text(derivation, sys.stdout)


def main() -> None:
    """Console-script entry point; a closed pipe (``ce-loss ... | head``) ends quietly."""
    try:
        app()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(141)
