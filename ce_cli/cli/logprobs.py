"""``compute --logprobs``: per-token log-probabilities read from JSON Lines, scored as perplexities."""

from __future__ import annotations

from typing import Any

from ce_cli.cli.messages import say
from ce_cli.cli.streams import results_to_stdout, stdin_bytes
from ce_cli.errors import InputError, OptionError


def _text(source: str) -> list[tuple[str, str]]:
    """``(label, text)`` of each file ``source`` names (a pattern: every match, in order; ``-``: stdin)."""
    from ce_cli.io.sources import source_files

    if source == "-":
        stream = stdin_bytes()
        return [("stdin", "" if stream is None else stream.read().decode("utf-8", errors="strict"))]
    paths = source_files(source)
    if not paths:
        raise InputError(f"--logprobs '{source}' does not exist")
    out = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as handle:
                out.append((f"'{path}'", handle.read()))
        except UnicodeDecodeError:
            raise InputError(f"'{path}' is not UTF-8 text (JSON Lines)") from None
        except OSError as error:
            raise InputError(f"'{path}' cannot be read: {error.strerror or error}") from None
    return out


def _counts(source: str | None, name: str) -> list[int] | None:
    if source is None:
        return None
    import numpy as np

    from ce_cli.io.sources import load

    values = np.asarray(load(source, name, stdin_bytes()).array, dtype=np.float64).reshape(-1)
    if not np.all((values >= 0) & (values == np.round(values))):
        raise InputError(f"--{name} holds counts: whole numbers >= 0, one per sequence")
    return [int(v) for v in values]


def compute_logprobs(
    source: str,
    *,
    fmt: str,
    words: str | None,
    num_bytes: str | None,
    output_format: str,
    quiet: bool,
    no_warnings: bool,
    others: dict[str, bool],
) -> None:
    """Read, score and write; ``others``: the logits options given, refused (the log-probabilities are of
    the targets already)."""
    from ce_cli.logprobs.perplexity import score
    from ce_cli.logprobs.reader import LogprobsRead, read_logprobs
    from ce_cli.render import writer_for
    from ce_cli.render.logprobs import WRITERS

    for flag, given in others.items():
        if given:
            raise OptionError(
                f"{flag} is not an option with --logprobs: the log-probabilities are of the targets already"
            )
    write = writer_for(WRITERS, output_format)
    parts = [read_logprobs(text, label, fmt) for label, text in _text(source)]
    formats = {part.format for part in parts}
    if len(formats) > 1:
        raise InputError(f"the files of --logprobs '{source}' hold different formats: {', '.join(sorted(formats))}")
    read = LogprobsRead([s for p in parts for s in p.sequences], parts[0].format, sum(p.skipped for p in parts))
    result = score(read, words=_counts(words, "words"), num_bytes=_counts(num_bytes, "bytes"))
    if not no_warnings:
        skipped = f"; {read.skipped} leading tokens without a log-probability (null) skipped" if read.skipped else ""
        say(f"read {len(read.sequences)} sequences, {result.tokens} tokens, as {read.format}{skipped}")
    with results_to_stdout() as stdout:
        if quiet:
            from ce_cli.render.numbers import format_number

            stdout.write(format_number(result.mean_nll) + "\n")
        else:
            from ce_cli.render import RenderOptions

            write((result, read.format, read.skipped), stdout, RenderOptions())


def given_with_logprobs(given: dict[str, Any]) -> dict[str, bool]:
    """The logits-side options given, which ``--logprobs`` refuses."""
    flags = {"logits": "--logits", "targets": "--targets", "target_column": "--target-column", "weight": "--weight"}
    return {flag: given.get(name) is not None for name, flag in flags.items()}
