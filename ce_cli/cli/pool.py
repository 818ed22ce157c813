"""``ce-loss pool``: merge results computed apart (``compute -f json`` of shards, machines, days)."""

from typing import Annotated, Literal, TypeAlias

import typer

from ce_cli.cli.messages import say, user_errors
from ce_cli.cli.options import OUTPUT, NoWarningsOption
from ce_cli.cli.streams import results_to_stdout, stdin_bytes

PoolFormat: TypeAlias = Literal["table", "json"]
POOL_EXAMPLES = "\n\n".join(
    [
        "Examples:",
        "  $ for s in shard-*; do ce-loss compute -l $s/logits.npy -t $s/targets.npy -f json > $s.json; done",
        "  $ ce-loss pool shard-*.json",
        "  $ cat day-*.json | ce-loss pool - -f json",
    ]
)


def pool_command(
    results: Annotated[
        list[str],
        typer.Argument(metavar="RESULT.json...", help="Results of compute -f json: files, or - for stdin."),
    ],
    output_format: Annotated[
        PoolFormat, typer.Option("--format", "-f", help="table (for people) or json.", rich_help_panel=OUTPUT)
    ] = "table",
    skip_nonfinite: Annotated[
        bool,
        typer.Option(
            "--skip-nonfinite",
            help="Leave out results whose numerator is NaN or infinite (by default the pooled mean is NaN, "
            "as on the concatenation).",
        ),
    ] = False,
    no_warnings: NoWarningsOption = False,
) -> None:
    """Merge results computed apart into the result of the whole, for every key that merges exactly."""
    from ce_cli.errors import InputError
    from ce_cli.families import family_for
    from ce_cli.pool import NOT_POOLED, parse_results, pool
    from ce_cli.render.numbers import write_json_line

    with user_errors():
        found = []
        for source in results:
            if source == "-":
                stream = stdin_bytes()
                text = "" if stream is None else stream.read().decode("utf-8", errors="replace")
                found += parse_results(text, "stdin")
            else:
                try:
                    with open(source, encoding="utf-8") as handle:
                        found += parse_results(handle.read(), f"'{source}'")
                except OSError as error:
                    raise InputError(f"result '{source}' cannot be read: {error.strerror or error}") from None
                except UnicodeDecodeError:
                    raise InputError(f"result '{source}' is not text (UTF-8)") from None
        pooled = pool(found, skip_nonfinite=skip_nonfinite)
        if not no_warnings:
            mean_is = "left out" if skip_nonfinite else "so the pooled mean is NaN or infinite, as on the concatenation"
            for result in pooled.non_finite:
                say(f"warning: {result.label}: its numerator is {result.stats.numerator.value()}; {mean_is}")
            if skip_nonfinite and pooled.non_finite:
                left = f"{len(pooled.non_finite)} results, {pooled.skipped_samples} samples"
                say(f"warning: --skip-nonfinite left out {left}")
        name = pooled.stats.meta.get("family", "")
        if name == "logprobs":  # compute --logprobs: log-probabilities, not a --task family
            from ce_cli.logprobs.stats import pooled_json

            out = pooled_json(pooled.stats)
        else:
            out = family_for(name).pooled_json(pooled.stats)
        if pooled.stats.calibration is not None:  # compute --calibration's bin sums, merged
            from ce_cli.calibration.metrics import Calibration
            from ce_cli.render.calibration import calibration_json

            out["calibration"] = calibration_json(Calibration(pooled.stats.calibration))
        out |= {"pooled": pooled.count, "not_pooled": list(NOT_POOLED), "state": pooled.stats.json()}
        with results_to_stdout() as stdout:
            if output_format == "json":
                write_json_line(out, stdout)
            else:
                from ce_cli.render.pool import write_table

                write_table(out, stdout)


def register(app: typer.Typer) -> None:
    """Add ``pool`` to the command line."""
    from ce_cli.cli.short_help import short_help

    app.command(name="pool", epilog=POOL_EXAMPLES, cls=short_help())(pool_command)
