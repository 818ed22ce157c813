"""The ``ce-loss`` console script: Ctrl-C while the program is still starting ends as it does later,
and numpy's BLAS starts no threads of its own.

Importing the command line (Typer, Rich, numpy) takes a few tenths of a second; a
SIGINT then would print Python's ``KeyboardInterrupt`` traceback from whichever
import it hit. Until the command line is imported, SIGINT ends the process at
once with ``ce-loss: interrupted`` and status 130, as shells report it.

numpy's OpenBLAS starts a thread per core when numpy is imported, and each spins for about
0.14 s of CPU before it sleeps, beside ce-loss's own workers (a 2 GB file: 0.95 of the time
without them). ce-loss makes no BLAS call that needs threads (its blocks run on its own pool),
so the console script asks for one BLAS thread, unless ``OPENBLAS_NUM_THREADS`` is already set.
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
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads OpenBLAS (see above)
    previous = signal.signal(signal.SIGINT, _interrupted_while_starting)
    from ce_cli.cli import main as run

    signal.signal(signal.SIGINT, previous)
    run()
