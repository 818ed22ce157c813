"""A progress bar on stderr for long computations, only where a person is watching.

Shown only when stderr is a terminal, and only once a computation has run for
``DELAY`` seconds: short runs, pipelines, redirected output and ``-q`` never
see it. Rich is imported only when the bar is first drawn.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import IO, Any


class ProgressBar:
    """``with ProgressBar(total, stream) as bar: ... bar.update(done)``."""

    DELAY = 1.0

    def __init__(self, total: int, stream: IO[str], *, enabled: bool = True, label: str = "computing") -> None:
        self.total = total
        self.stream = stream
        self.enabled = enabled and total > 0 and stream.isatty()
        self.label = label
        self.started = time.monotonic()
        self._progress: Any = None
        self._task: Any = None

    def update(self, done: int) -> None:
        """Record that ``done`` of ``total`` rows are evaluated."""
        if not self.enabled:
            return
        if self._progress is None:
            if time.monotonic() - self.started < self.DELAY:
                return
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            console = Console(file=self.stream)
            self._progress = Progress(
                TextColumn(self.label),
                BarColumn(),
                TextColumn("{task.completed:,}/{task.total:,} rows"),
                TextColumn("time left"),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=self.total)
        self._progress.update(self._task, completed=done)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
