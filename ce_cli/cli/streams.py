"""The process's standard streams as the commands use them.

stdin is touched only when a source reads it (``-``), so a closed stdin
(``<&-``) troubles no other run. Results go to stdout inside
:func:`results_to_stdout`: a closed stdout, a full device or an encoding that
cannot spell the output is one error line and exit status 1; a closed pipe
(``ce-loss ... | head``) ends quietly with status 141, as a shell reports a
process ended by SIGPIPE.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, TextIO

import typer

from ce_cli.errors import OutputError

CLOSED_PIPE = 141


def stdin_bytes() -> IO[bytes] | None:
    """This process's stdin as bytes, or ``None`` when it is closed."""
    stream = sys.stdin
    return None if stream is None else getattr(stream, "buffer", None)


def quiet_closed_pipe() -> None:
    """Point stdout at /dev/null, so that Python's last flush at exit finds no closed pipe to complain about."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (a test's capture): nothing to flush at exit
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, descriptor)
    os.close(devnull)


@contextmanager
def results_to_stdout() -> Iterator[TextIO]:
    """stdout for the results, flushed before leaving; its failures become :class:`OutputError` or status 141.

    Raises:
        OutputError: stdout is closed, full, or cannot encode the results.
        typer.Exit: with status 141 when the reader closed the pipe.
    """
    stream = sys.stdout
    if stream is None:
        raise OutputError("stdout is closed: there is nowhere to write the results")
    try:
        yield stream
        stream.flush()
    except BrokenPipeError:
        quiet_closed_pipe()
        raise typer.Exit(CLOSED_PIPE) from None
    except UnicodeEncodeError as error:
        character = error.object[error.start : error.end]
        raise OutputError(
            f"stdout's encoding ({error.encoding}) cannot write {character!r}; set PYTHONIOENCODING=utf-8"
        ) from None
    except OSError as error:
        raise OutputError(f"the results cannot be written to stdout: {error.strerror or error}") from None
