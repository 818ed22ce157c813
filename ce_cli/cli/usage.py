"""Usage errors (unknown options, bad choices, values out of range) as one line in ce-loss's own style.

Typer and Click print them as boxed panels with pydantic's wording; :class:`OneLineUsageErrors`
runs the command group so that every error, usage or data, is one ``ce-loss: error:`` line on
stderr, with a "did you mean" where a close name exists. Ctrl-C ends with ``ce-loss: interrupted``
and status 130, as shells report SIGINT.
"""

from __future__ import annotations

import difflib
import re
import sys
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

INTERRUPTED = 130
_PYDANTIC = [
    (re.compile(r"Value error, "), ""),
    (re.compile(r"Input should be greater than or equal to "), "must be at least "),
    (re.compile(r"Input should be less than or equal to "), "must be at most "),
    (re.compile(r"Input should be a valid (\w+)[^.]*"), r"must be a valid \1"),
    (re.compile(r"^Invalid value for '': "), ""),  # the hidden positional arguments, which say it all
]


def _is_click_error(error: BaseException, name: str) -> bool:
    """Whether ``error`` is Click's ``name`` (Click is vendored inside newer Typer, so match by class name)."""
    return any(cls.__name__ == name for cls in type(error).__mro__)


def _did_you_mean(message: str) -> str:
    """A close choice for a value that is not one of them."""
    found = re.search(r"'([^']*)' is not one of ((?:'[^']*'(?:, )?)+)", message)
    if found is None:
        return ""
    choices = re.findall(r"'([^']*)'", found[2])
    close = difflib.get_close_matches(found[1], choices, n=1, cutoff=0.5)
    return f"; did you mean '{close[0]}'?" if close else ""


def usage_text(error: Any) -> str:
    """Click's usage error as one sentence, with where to look for the options."""
    message = " ".join(str(error.format_message()).split())
    for pattern, replacement in _PYDANTIC:
        message = pattern.sub(replacement, message)
    message = message.rstrip(".") + _did_you_mean(message)
    if message.startswith("Got unexpected extra argument"):  # most often a glob the shell expanded
        message += (
            "; to read sharded files as one input, quote the pattern so that ce-loss expands it: "
            "--logits 'shards/logits-*.npy'"
        )
    context = getattr(error, "ctx", None)
    command = getattr(context, "command_path", None)
    return f"{message} (see '{command} --help')" if command else message


class OneLineUsageErrors(TyperGroup):
    """The command group, with usage errors and Ctrl-C reported in one line."""

    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            result = super().main(
                args=args, prog_name=prog_name, complete_var=complete_var, standalone_mode=False, **extra
            )
        except KeyboardInterrupt:  # past Typer's own handling (between its frames)
            result = INTERRUPTED
        except Exception as error:
            if _is_click_error(error, "NoArgsIsHelpError"):
                error.show()  # type: ignore[attr-defined]  # the help, as for no arguments at all
                sys.exit(2)
            if _is_click_error(error, "UsageError"):
                typer.echo("ce-loss: error: " + usage_text(error).replace("\n", "\\n"), err=True)
                sys.exit(2)
            if _is_click_error(error, "Abort"):
                typer.echo("ce-loss: interrupted", err=True)
                sys.exit(INTERRUPTED)
            raise
        if result == INTERRUPTED:  # newer Typer turns Ctrl-C into this status without a word
            typer.echo("ce-loss: interrupted", err=True)
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else 0)


class OneValueEach(TyperCommand):
    """A command whose options each take one value: an option given twice is a usage error.

    Click keeps the last of repeated values, so ``--logits a.npy --logits b.npy`` would score b alone,
    silently; here it is refused, naming the option. Options declared ``multiple`` keep their meaning.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and not ctx.resilient_parsing:
            try:
                _, _, order = self.make_parser(ctx).parse_args(args=list(args))
            except Exception:  # the parse below reports it, in Click's words
                order = []
            seen: set[str] = set()
            for param in order:
                name = getattr(param, "name", None)
                if name is None or getattr(param, "multiple", False) or getattr(param, "count", False):
                    continue
                if name in seen and getattr(param, "opts", None):
                    ctx.fail(_repeated(param.opts, getattr(param, "is_flag", False)))
                seen.add(name)
        return list(super().parse_args(ctx, args))


def _repeated(flags: list[str], is_flag: bool) -> str:
    """The usage error for an option given more than once."""
    flag = max(flags, key=len)
    spelled = flag if len(flags) == 1 else f"{flag} ({', '.join(f for f in flags if f != flag)})"
    takes = "" if is_flag else ", and it takes one value (the last would win)"
    hint = "; to compare two models, run ce-loss once for each" if flag == "--logits" else ""
    return f"{spelled} was given more than once{takes}: give it once{hint}"


def show_flags_without_a_type() -> None:
    """Help lists a flag (``--quiet``, ``--help``) without a type: Typer 0.29 shows ``<bool>`` there,
    as if the flag took a value. Older Typer releases show nothing already and are left as they are."""
    try:
        from typer.core import TyperOption
    except ImportError:  # pragma: no cover  # every supported Typer has it
        return
    original = getattr(TyperOption, "display_type_rich", None)
    if original is None or getattr(original, "flags_without_a_type", False):
        return

    def display_type_rich(self: Any, ctx: Any) -> Any:
        if getattr(self, "is_flag", False) and not getattr(self, "count", False):
            return None
        return original(self, ctx)

    display_type_rich.flags_without_a_type = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]
