"""The writers of ``compute --logprobs``: per-sequence perplexities and the pooled ones.

JSON keys: ``task`` ("logprobs"), ``format``, ``n_sequences``, ``n_tokens``, ``skipped``, ``sum`` (the
summed negative log-likelihood), ``mean`` (per token), ``token_perplexity``, ``mean_sequence_perplexity``,
``word_perplexity``, ``byte_perplexity``, ``bits_per_byte`` (``null`` where the counts are unknown),
``words``, ``bytes``, ``words_from``, ``bytes_from`` and ``per_sequence``.
"""

from __future__ import annotations

from typing import Any, TextIO

from ce_cli.logprobs.perplexity import Perplexities
from ce_cli.render import RenderOptions, Writer
from ce_cli.render.delimited import write_delimited
from ce_cli.render.numbers import format_number, json_number, short_number, write_json_line

Result = tuple[Perplexities, str, int]


def _maybe(value: float | None) -> float | str | None:
    return None if value is None else json_number(value)


def result_json(result: Result) -> dict[str, Any]:
    p, fmt, skipped = result
    return {
        "task": "logprobs",
        "format": fmt,
        "n_sequences": len(p.sequences),
        "n_tokens": p.tokens,
        "skipped": skipped,
        "sum": json_number(p.nll),
        "mean": json_number(p.mean_nll),
        "token_perplexity": json_number(p.token_perplexity),
        "mean_sequence_perplexity": json_number(p.mean_sequence_perplexity),
        "word_perplexity": _maybe(p.word_perplexity),
        "byte_perplexity": _maybe(p.byte_perplexity),
        "bits_per_byte": _maybe(p.bits_per_byte),
        "words": p.words,
        "bytes": p.num_bytes,
        "words_from": p.words_from,
        "bytes_from": p.bytes_from,
        "per_sequence": [
            {
                "tokens": s.tokens,
                "nll": json_number(s.nll),
                "token_perplexity": json_number(s.token_perplexity),
                "words": s.words,
                "bytes": s.num_bytes,
            }
            for s in p.sequences
        ],
    }


def write_json(result: Result, stream: TextIO, options: RenderOptions) -> None:
    out = result_json(result)
    if options.state is not None:
        out["state"] = options.state
    write_json_line(out, stream)


def write_table(result: Result, stream: TextIO, options: RenderOptions) -> None:
    from rich.table import Table

    from ce_cli.render.tables import add_sample_rows, make_console

    p, fmt, _ = result
    table = Table(title=f"{len(p.sequences)} sequences ({fmt})", title_justify="left")
    for name in ("sequence", "tokens", "nll", "perplexity", "words", "bytes"):
        table.add_column(name, justify="right", no_wrap=True)

    def add(i: int) -> None:
        s = p.sequences[i]
        words = "" if s.words is None else str(s.words)
        size = "" if s.num_bytes is None else str(s.num_bytes)
        table.add_row(str(i), str(s.tokens), short_number(s.nll), short_number(s.token_perplexity), words, size)

    add_sample_rows(table, len(p.sequences), options.max_rows, add)
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("token perplexity", f"{short_number(p.token_perplexity)} = exp(sum nll / {p.tokens} tokens), pooled")
    grid.add_row("mean of per-sequence", short_number(p.mean_sequence_perplexity))
    for name, value, unit, source in (
        ("word perplexity", p.word_perplexity, f"{p.words} words", p.words_from),
        ("byte perplexity", p.byte_perplexity, f"{p.num_bytes} bytes", p.bytes_from),
    ):
        text = (
            "unknown (give --words / --bytes)"
            if value is None
            else f"{short_number(value)} = exp(sum nll / {unit}, from {source})"
        )
        grid.add_row(name, text)
    bpb = p.bits_per_byte
    grid.add_row("bits per byte", "unknown" if bpb is None else f"{short_number(bpb)} = sum nll / (bytes ln 2)")
    console = make_console(stream)
    console.print(table)
    console.print(grid)


def _csv(delimiter: str) -> Writer[Result]:
    def write(result: Result, stream: TextIO, options: RenderOptions) -> None:
        p = result[0]

        def columns(start: int, stop: int) -> list[list[str]]:
            rows = p.sequences[start:stop]
            return [
                [str(i) for i in range(start, stop)],
                [str(s.tokens) for s in rows],
                [format_number(s.nll) for s in rows],
                [format_number(s.token_perplexity) for s in rows],
            ]

        write_delimited(stream, delimiter, ["sequence", "tokens", "nll", "token_perplexity"], len(p.sequences), columns)

    return write


WRITERS: dict[str, Writer[Result]] = {"table": write_table, "json": write_json, "csv": _csv(","), "tsv": _csv("\t")}
