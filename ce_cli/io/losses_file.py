"""Write a result file atomically: a temporary file in the same folder, then a rename.

A run that fails, before or while writing, leaves no file at the path.
:func:`check_output_path` finds a path that cannot be written before any work
is done. What goes into the file is the caller's (see
:data:`ce_cli.families.softmax.render.LOSSES_FILE_ENCODERS`); messages name the path as
the caller names it.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from typing import BinaryIO

from ce_cli.errors import OptionError, OutputError


def suffix_of(path: str) -> str:
    """The lower-case suffix that chooses a file's format (``".npy"``; a file named just ``.npy`` too)."""
    base = os.path.basename(path).lower()
    return os.path.splitext(base)[1] or (base if base.startswith(".") else "")


def check_output_path(path: str, suffixes: Iterable[str], name: str = "output", inputs: Iterable[str] = ()) -> None:
    """Refuse a path that cannot be written, or must not be, before anything is read.

    Args:
        path: the file to write.
        suffixes: the suffixes a format exists for.
        name: how messages name the path's option.
        inputs: the files the run reads; writing over one of them would lose it.

    Raises:
        OptionError: the suffix is not one of ``suffixes``; the path is one of ``inputs``
            (the same file by identity: symlinks, other spellings and hard links included).
        OptionError: the path is a FIFO or a device.
        OutputError: the folder is missing or not writable, or the path is a folder.
    """
    known = tuple(suffixes)
    base = os.path.basename(path).lower()
    if not any(base.endswith(suffix) and len(base) > len(suffix) for suffix in known):
        if base in known:
            raise OptionError(f"{name} '{path}' has no name before its suffix: write, for example, losses{base}")
        raise OptionError(f"{name} '{path}' must end in {', '.join(known)} (the format follows the suffix)")
    for source in inputs:
        if os.path.exists(path) and os.path.samefile(path, source):
            raise OptionError(f"{name} '{path}' is the input '{source}': writing the losses there would replace it")
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise OutputError(f"{name} '{path}' is a folder")
    if os.path.exists(path) and not stat.S_ISREG(os.stat(path).st_mode):
        raise OptionError(
            f"{name} '{path}' is not a regular file (a FIFO or a device), which writing the losses would replace "
            "with one; give a file's path, or use -f csv and redirect stdout"
        )
    if not os.path.isdir(folder):
        raise OutputError(f"{name} '{path}': the folder '{folder}' does not exist")
    try:  # the only reliable test (os.access says yes to root, even on /proc): create a file there
        probe, probe_path = tempfile.mkstemp(dir=folder, prefix=".ce-loss-probe-")
    except OSError as error:
        raise OutputError(f"{name} '{path}': the folder '{folder}' is not writable ({error.strerror})") from None
    os.close(probe)
    os.unlink(probe_path)


def write_atomically(path: str, write: Callable[[BinaryIO], None], name: str = "output") -> None:
    """Write to ``path`` so that the file appears whole or not at all: ``write`` writes into a temporary file
    beside it (as it goes: nothing is held whole in memory), which then takes the path's name.

    Raises:
        OutputError: the file cannot be written (``name`` names its option in the message).
    """
    folder = os.path.dirname(os.path.abspath(path))
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".ce-loss-", suffix=suffix_of(path))
    except OSError as error:
        raise OutputError(f"{name} '{path}' cannot be written: {error.strerror or error}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except OSError as error:
        raise OutputError(f"{name} '{path}' cannot be written: {error.strerror or error}") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
