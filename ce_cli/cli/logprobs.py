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
    texts = _text(source)
    if fmt == "lm-eval" or (fmt == "auto" and _first_is_harness(texts)):
        _harness(texts, output_format, quiet)
        return
    parts = [read_logprobs(text, label, fmt) for label, text in texts]
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
            from ce_cli.logprobs.stats import accumulate
            from ce_cli.render import RenderOptions

            state = accumulate(result).json() if output_format == "json" else None  # what pool merges
            write((result, read.format, read.skipped), stdout, RenderOptions(state=state))


def given_with_logprobs(given: dict[str, Any]) -> dict[str, bool]:
    """The logits-side options given, which ``--logprobs`` refuses."""
    flags = {"logits": "--logits", "targets": "--targets", "target_column": "--target-column", "weight": "--weight"}
    out = {flag: given.get(name) is not None for name, flag in flags.items()}
    for name, flag in (("calibration", "--calibration"), ("fit_temperature", "--fit-temperature"), ("plot", "--plot")):
        out[flag] = bool(given.get(name))  # they need a prediction per sample, which log-probabilities do not hold
    return out


def _first_is_harness(texts: list[tuple[str, str]]) -> bool:
    import json

    from ce_cli.logprobs.harness import is_harness_sample

    for _, text in texts:
        for line in text.splitlines():
            if line.strip():
                try:
                    return is_harness_sample(json.loads(line))
                except json.JSONDecodeError:
                    return False
    return False


def _harness(texts: list[tuple[str, str]], output_format: str, quiet: bool) -> None:
    """An lm-evaluation-harness samples file: its task's own figures, recomputed from the logged documents."""
    from ce_cli.logprobs.harness import RollingScores, read_harness
    from ce_cli.render.numbers import format_number, json_number, write_json_line

    found = read_harness(texts)
    if isinstance(found, RollingScores):
        say(f"read {len(found.words)} documents of an lm-evaluation-harness loglikelihood_rolling task")
        out: dict[str, Any] = {
            "task": "lm-eval-rolling",
            "n_documents": len(found.words),
            "words": sum(found.words),
            "bytes": sum(found.num_bytes),
            "word_perplexity": json_number(found.word_perplexity),
            "byte_perplexity": json_number(found.byte_perplexity),
            "bits_per_byte": json_number(found.bits_per_byte),
        }
        headline = found.word_perplexity
    else:
        say(f"read {len(found.gold)} documents of an lm-evaluation-harness multiple-choice task")
        if found.disagreements:
            say(f"warning: {found.disagreements} documents' logged acc differs from what their log-likelihoods give")
        logged = [a for a in found.logged_acc if a is not None]
        out = {
            "task": "lm-eval-multiple-choice",
            "n_documents": len(found.gold),
            "accuracy": json_number(found.accuracy),
            "logged_acc": json_number(float(sum(logged) / len(logged))) if logged else None,
            "disagreements": found.disagreements,
        }
        headline = found.accuracy
    with results_to_stdout() as stdout:
        if quiet:
            stdout.write(format_number(headline) + "\n")
        elif output_format == "json":
            write_json_line(out, stdout)
        else:
            width = max(len(k) for k in out)
            stdout.write("".join(f"{k:<{width}}  {v}\n" for k, v in out.items()))


def paired_logprobs(new_source: str, baseline_source: str, fmt: str) -> tuple[Any, Any]:
    """Both models' per-token losses (``-logprob``) as :class:`~ce_cli.paired.samples.PairedSamples`, for
    ``diff --logprobs NEW --baseline OLD``: the same sequences with the same numbers of tokens.

    Raises:
        ShapeError: the files' sequences or tokens differ in number (the message names both).
    """
    import numpy as np

    from ce_cli.errors import ShapeError
    from ce_cli.logprobs.reader import read_logprobs
    from ce_cli.paired.samples import PairedSamples

    def read(source: str) -> list[list[float]]:
        return [s.logprobs for label, text in _text(source) for s in read_logprobs(text, label, fmt).sequences]

    new, old = read(new_source), read(baseline_source)
    counts_new, counts_old = [len(s) for s in new], [len(s) for s in old]
    if counts_new != counts_old:
        first = next((i for i, (a, b) in enumerate(zip(counts_new, counts_old, strict=False)) if a != b), None)
        where = f"sequence {first} has {counts_new[first]} and {counts_old[first]} tokens" if first is not None else ""
        raise ShapeError(
            f"--logprobs '{new_source}' has {len(new)} sequences ({sum(counts_new)} tokens) and --baseline "
            f"'{baseline_source}' {len(old)} ({sum(counts_old)} tokens){'; ' + where if where else ''}: a paired "
            "comparison needs both models' log-probabilities of the same tokens"
        )

    def samples(sequences: list[list[float]]) -> PairedSamples:
        losses = -np.array([v for s in sequences for v in s], dtype=np.float64)
        n = len(losses)
        return PairedSamples(
            losses, np.ones(n), np.ones(n, dtype=bool), None, None, np.zeros(n, dtype=np.int64), np.zeros(0),
            float(np.sum(losses)) / n if n else float("nan"), (n,), (n,),
        )  # fmt: skip

    return samples(new), samples(old)
