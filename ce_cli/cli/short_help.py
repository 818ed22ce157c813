"""Help that fits a screen: ``--help`` shows a command's most-used options, ``--help-all`` every one.

The usage line shows no hidden positional argument (``[OPTIONS]`` alone), and help written to a pipe or
file has no line ending in spaces (Rich pads each line to the width on a terminal, where they do not show).
"""

from __future__ import annotations

import contextlib
import io
import sys
from typing import Annotated, Any

import typer

from ce_cli.cli.usage import OneValueEach

HELP_ALL = "ce_loss_help_all"


def _show_all(ctx: typer.Context, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        ctx.meta[HELP_ALL] = True
        typer.echo(ctx.get_help(), color=ctx.color, nl=False)
        ctx.exit()


HelpAllOption = Annotated[
    bool,
    typer.Option("--help-all", is_eager=True, callback=_show_all, help="Show every option, not only the most used."),
]


class ShortHelp(OneValueEach):
    """A command whose ``--help`` lists the options named in :attr:`essential` (``--help-all``, a parameter
    of type :data:`HelpAllOption`: every one)."""

    essential: frozenset[str] | None = None  # None: every option, in its panel (usage and spacing fixed alone)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [self.options_metavar] if self.options_metavar else []

    def format_help(self, ctx: Any, formatter: Any) -> None:
        saved: list[tuple[Any, dict[str, Any]]] = []
        if self.essential is not None and not ctx.meta.get(HELP_ALL, False):  # the most-used, in one panel
            for param in self.params:
                keep = {name: getattr(param, name, None) for name in ("hidden", "rich_help_panel", "show_default")}
                saved.append((param, keep))
                changes = {"rich_help_panel": None, "show_default": False}
                if param.name not in self.essential:
                    changes["hidden"] = True
                for name, value in changes.items():
                    setattr(param, name, value)
        try:
            if sys.stdout.isatty():
                super().format_help(ctx, formatter)
            else:
                buffer = io.StringIO()
                with contextlib.redirect_stdout(buffer):  # Rich writes help to sys.stdout as it prints
                    super().format_help(ctx, formatter)
                sys.stdout.write("\n".join(line.rstrip() for line in buffer.getvalue().split("\n")))
        finally:
            for param, keep in saved:
                for name, value in keep.items():
                    setattr(param, name, value)


def short_help(*essential: str) -> type[ShortHelp]:
    """A :class:`ShortHelp` command class whose ``--help`` lists these parameters (by their Python names), or
    every one where none is named."""
    return type("ShortHelpCommand", (ShortHelp,), {"essential": frozenset(essential) if essential else None})
