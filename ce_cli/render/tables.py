"""Rich tables for people: the console and the elided per-sample rows every table shares."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

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


PIPE_WIDTH = 80  # a pipe without COLUMNS: as ls, git and Rich lay out text for a pipe


class _WithoutTrailingSpaces:
    """A text stream that writes each line without the spaces Rich pads it with (titles, cells)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._line = ""

    def write(self, text: str) -> int:
        lines = (self._line + text).split("\n")
        self._line = lines.pop()
        for line in lines:
            self._stream.write(line.rstrip(" ") + "\n")
        return len(text)

    def flush(self) -> None:  # a line is written whole, when its end comes
        self._stream.flush()

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


NARROWEST = 40  # the narrowest layout: a sentence or a number is never broken into pieces narrower than this


def pipe_width() -> int:
    """The width of a table written to a pipe or file: ``COLUMNS`` where set, else 80."""
    import os

    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else PIPE_WIDTH


def _fitting_console_class() -> type[Console]:
    """A Rich console whose tables never lose a digit: number columns do not wrap (text columns wrap
    first), and a table still wider than the console is printed at its own width, whole, with one
    line on stderr that says so."""
    from rich.console import Console
    from rich.measure import Measurement
    from rich.table import Table

    class FittingConsole(Console):
        said_too_wide = False

        ascii_only = False  # the stream cannot show the glyphs: spell them in ASCII before the layout

        def print(self, *objects: Any, **options: Any) -> None:
            if self.ascii_only:
                from ce_cli.render.glyphs import in_ascii

                objects = tuple(in_ascii(o) for o in objects)
            tables = [o for o in objects if isinstance(o, Table)]
            width = self.width
            if tables and options.get("width") is None:
                needed = max(self._unbroken_width(table) for table in tables)
                if needed > width:
                    self.width = needed  # Rich caps a print's width at the console's: widen the console
                    if not FittingConsole.said_too_wide:
                        FittingConsole.said_too_wide = True
                        import sys

                        print(
                            f"ce-loss: note: a table needs {needed} columns and there are {width}: it is "
                            "printed whole, so its lines wrap (widen the terminal, or use -f csv)",
                            file=sys.stderr,
                        )
            try:
                super().print(*objects, **options)
            finally:
                self.width = width

        def on_broken_pipe(self) -> None:
            """A closed pipe is the caller's to report (status 141, quietly), not Rich's exit status 1."""
            raise BrokenPipeError

        def _unbroken_width(self, table: Table) -> int:
            """The width ``table`` needs with every number column whole (text columns at their narrowest)."""
            try:  # Rich's own measures of a column (private, in every Rich release ce-loss supports)
                unbounded = self.options.update_width(1 << 16)  # measured unclamped by the console's width
                columns = [table._measure_column(self, unbounded, column) for column in table.columns]
                extra = table._extra_width
            except AttributeError:  # pragma: no cover  # a Rich without them: its own layout, as before
                return Measurement.get(self, self.options, table).minimum
            widths = [m.maximum if c.no_wrap else m.minimum for m, c in zip(columns, table.columns, strict=True)]
            return sum(widths) + extra

    return FittingConsole


def fits(console: Console, table: Table) -> bool:
    """Whether ``table`` fits ``console``'s width with every number whole."""
    measure = getattr(console, "_unbroken_width", None)
    return measure is None or int(measure(table)) <= console.width


def shown(n: int, max_rows: int) -> list[int]:
    """Every position a per-sample table shows (see :func:`add_sample_rows`)."""
    head, tail = shown_positions(n, max_rows)
    return head + tail


def make_console(stream: TextIO) -> Console:
    """A Rich console on ``stream``: no markup parsing (cells hold text like ``x[t]``), no emoji
    codes (a sample named ``:ok:`` keeps its name), no highlighting, colour only where Rich allows
    it (a terminal, no ``NO_COLOR``). On a terminal, tables fit its width; to a pipe or file they
    take ``COLUMNS`` or their own width, and no line ends in spaces (``| less``, ``| tee`` and
    diffs read them as they are). Nothing is laid out narrower than :data:`NARROWEST` columns, so no
    number is cut at any ``COLUMNS``."""
    from ce_cli.render.glyphs import Encodable, shows_unicode

    console = _fitting_console_class()
    unicode = shows_unicode(stream)
    target: Any = stream if unicode else Encodable(stream)
    if stream.isatty():
        made = console(file=target, highlight=False, markup=False, emoji=False)
    else:
        lines: Any = _WithoutTrailingSpaces(target)
        made = console(file=lines, highlight=False, markup=False, emoji=False, width=pipe_width())
    made.ascii_only = not unicode  # type: ignore[attr-defined]  # FittingConsole's
    made.width = max(made.width, NARROWEST)  # below it, text is laid out at it and the terminal wraps the lines
    return made
