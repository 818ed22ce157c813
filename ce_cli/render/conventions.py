"""The writers of a convention's result (``compute --convention``) and of ``compare --conventions``.

JSON keys: ``convention``, ``task``, ``formula``, ``reduction``, ``value``, ``mean`` or ``sum`` (as
``--reduction`` asks), ``numerator``, ``denominator``, ``losses`` (per sample, weighted as the framework
weights them), ``notes`` (what the framework did that PyTorch does not).
"""

from __future__ import annotations

from typing import Any, TextIO

from ce_cli.conventions.options import FRAMEWORK, ConventionResult
from ce_cli.render import RenderOptions, Writer
from ce_cli.render.delimited import write_delimited
from ce_cli.render.numbers import format_number, json_number, json_values, short_number, spelled, write_json_line


def result_json(result: ConventionResult, task: str, formula: str, reduction: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "convention": result.convention,
        "framework": FRAMEWORK[result.convention],
        "task": task,
        "formula": formula,
        "reduction": reduction,
        "value": json_number(result.value),
        "numerator": json_number(result.numerator),
        "denominator": json_number(result.denominator),
        "losses": json_values(result.per_sample),
        "notes": list(result.notes),
    }
    out["sum" if reduction == "sum" else "mean"] = json_number(result.value)
    return out


def writers(task: str, formula: str, reduction: str) -> dict[str, Writer[ConventionResult]]:
    """The writers of one convention's result, by ``--format``."""

    def write_json(result: ConventionResult, stream: TextIO, options: RenderOptions) -> None:
        write_json_line(result_json(result, task, formula, reduction) | options.json_keys(1), stream)

    def write_table(result: ConventionResult, stream: TextIO, options: RenderOptions) -> None:
        from rich.table import Table

        from ce_cli.render.tables import make_console

        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column()
        grid.add_row("convention", f"{result.convention}: {FRAMEWORK[result.convention]}")
        grid.add_row(reduction if reduction == "sum" else "mean", short_number(result.value))
        grid.add_row("as", f"{short_number(result.numerator)} / {short_number(result.denominator)}")
        for note in result.notes:
            grid.add_row("note", note)
        make_console(stream).print(grid)

    def delimited(delimiter: str) -> Writer[ConventionResult]:
        def write(result: ConventionResult, stream: TextIO, options: RenderOptions) -> None:
            values = result.per_sample

            def columns(start: int, stop: int) -> list[list[str]]:
                return [[str(i) for i in range(start, stop)], spelled(values[start:stop])]

            write_delimited(stream, delimiter, ["index", "loss"], len(values), columns)

        return write

    return {"table": write_table, "json": write_json, "csv": delimited(","), "tsv": delimited("\t")}


def write_quiet(result: ConventionResult, reduction: str, stream: TextIO) -> None:
    if reduction == "none":
        stream.write("".join(v + "\n" for v in spelled(result.per_sample)))
    else:
        stream.write(format_number(result.value) + "\n")


def write_conventions(rows: list[tuple[str, ConventionResult | str]], stream: TextIO, as_json: bool) -> None:
    """``compare --conventions``: each convention's number beside PyTorch's, with why it differs."""
    pytorch = next(r for name, r in rows if name == "pytorch")
    assert isinstance(pytorch, ConventionResult)
    if as_json:
        out: list[dict[str, Any]] = []
        for name, result in rows:
            if isinstance(result, str):
                out.append({"convention": name, "value": None, "not_available": result})
            else:
                out.append(
                    {
                        "convention": name,
                        "value": json_number(result.value),
                        "difference_to_pytorch": json_number(result.value - pytorch.value),
                        "notes": list(result.notes),
                    }
                )
        write_json_line({"conventions": out}, stream)
        return
    from rich.table import Table

    from ce_cli.render.tables import make_console

    table = Table(title="every framework's number on this input", title_justify="left")
    table.add_column("convention", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("- PyTorch", justify="right", no_wrap=True)
    table.add_column("why")
    for name, result in rows:
        if isinstance(result, str):
            table.add_row(name, "-", "-", result)
        else:
            why = "; ".join(result.notes) if name != "pytorch" else "the reference"
            if name != "pytorch" and result.denominator != pytorch.denominator and result.denominator != 1.0:
                why += f" (divides by {result.denominator:g}; PyTorch by {pytorch.denominator:g})"
            table.add_row(name, short_number(result.value), short_number(result.value - pytorch.value), why)
    make_console(stream).print(table)


def write_explained(
    result: ConventionResult, pytorch: ConventionResult, flat: int, stream: TextIO, as_json: bool
) -> None:
    """One sample's loss under the convention beside PyTorch's, then how each reduces."""
    per = result.per_sample
    mine = float(per[flat]) if flat < len(per) else float("nan")
    theirs = float(pytorch.per_sample[flat])
    if as_json:
        write_json_line(
            {
                "convention": result.convention,
                "sample": flat,
                "loss": json_number(mine),
                "pytorch_loss": json_number(theirs),
                "value": json_number(result.value),
                "numerator": json_number(result.numerator),
                "denominator": json_number(result.denominator),
                "pytorch_value": json_number(pytorch.value),
                "notes": list(result.notes),
            },
            stream,
        )
        return
    from rich.table import Table

    from ce_cli.render.tables import make_console

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row(f"sample {flat}", f"{result.convention} {short_number(mine)}, PyTorch {short_number(theirs)}")
    grid.add_row(
        "reduced",
        f"{short_number(result.numerator)} / {short_number(result.denominator)} = {short_number(result.value)}",
    )
    grid.add_row(
        "PyTorch",
        f"{short_number(pytorch.numerator)} / {short_number(pytorch.denominator)} = {short_number(pytorch.value)}",
    )
    for note in result.notes:
        grid.add_row("why", note)
    make_console(stream).print(grid)
