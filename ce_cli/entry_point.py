"""The ``ce-loss`` console script: Ctrl-C while the program is still starting ends as it does later.

Importing the command line (Typer, Rich, numpy) takes a few tenths of a second; a
SIGINT then would print Python's ``KeyboardInterrupt`` traceback from whichever
import it hit. Until the command line is imported, SIGINT ends the process at
once with ``ce-loss: interrupted`` and status 130, as shells report it.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

INTERRUPTED = 130


def _interrupted_while_starting(signum: int, frame: FrameType | None) -> None:
    sys.stderr.write("ce-loss: interrupted\n")
    sys.stderr.flush()
    os._exit(INTERRUPTED)  # no cleanup owed: nothing has been read or written yet


def main() -> None:
    """Import the command line with SIGINT handled, then run it with Python's usual handling restored."""
    previous = signal.signal(signal.SIGINT, _interrupted_while_starting)
    from ce_cli.cli import main as run

    signal.signal(signal.SIGINT, previous)
    run()
