"""Rich tables for people: the console and the elided per-sample rows every table shares."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table


def shown_positions(n: int, max_rows: int) -> tuple[list[int], list[int]]:
    """Positions before and after the ellipsis row (the second list empty if all fit)."""
    if n <= max_rows:
        return list(range(n)), []
    head = (max_rows + 1) // 2
    return list(range(head)), list(range(n - (max_rows - head), n))


def add_sample_rows(table: Table, n: int, max_rows: int, add: Callable[[int], None]) -> None:
    """Call ``add`` for the first positions, then an ellipsis row, then the last ones: ``max_rows`` in all."""
    head, tail = shown_positions(n, max_rows)
    for position in head:
        add(position)
    if len(head) + len(tail) < n:  # also with --max-rows 1, where no row follows the ellipsis
        blanks = [""] * (len(table.columns) - 2)
        table.add_row("...", f"({n - len(head) - len(tail)} more)", *blanks)
        for position in tail:
            add(position)


def make_console(stream: TextIO) -> Console:
    """A Rich console on ``stream``: no markup parsing (cells hold text like ``x[t]``), no
    highlighting, colour only where Rich allows it (a terminal, no ``NO_COLOR``), and wide
    enough that tables written to a file or pipe are never cut."""
    from rich.console import Console

    width = None if stream.isatty() else 240
    return Console(file=stream, highlight=False, markup=False, width=width)
