"""Write per-sample losses to a file atomically: a temporary file, then a rename.

A run that fails, before or while writing, leaves no file at the path.
:func:`check_output_path` finds a path that cannot be written before any work
is done.
"""

from __future__ import annotations

import io
import os
import tempfile

import numpy as np

from ce_cli.errors import OptionError, OutputError
from ce_cli.render import write_delimited
from ce_cli.report import Report

OUTPUT_SUFFIXES = (".npy", ".csv", ".tsv")


def check_output_path(path: str) -> None:
    """Refuse an ``--output`` path that cannot be written, before computing.

    Raises:
        OptionError: the suffix is not one of ``OUTPUT_SUFFIXES``.
        OutputError: the folder is missing or not writable, or the path is a folder.
    """
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise OptionError(f"--output '{path}' must end in {', '.join(OUTPUT_SUFFIXES)} (the format follows the suffix)")
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise OutputError(f"--output '{path}' is a folder")
    if not os.path.isdir(folder):
        raise OutputError(f"--output '{path}': the folder '{folder}' does not exist")
    try:  # the only reliable test (os.access says yes to root, even on /proc): create a file there
        probe, probe_path = tempfile.mkstemp(dir=folder, prefix=".ce-loss-probe-")
    except OSError as error:
        raise OutputError(f"--output '{path}': the folder '{folder}' is not writable ({error.strerror})") from None
    os.close(probe)
    os.unlink(probe_path)


def write_losses(path: str, report: Report) -> None:
    """Write ``report``'s per-sample losses to ``path`` (``.npy``: float64 array; ``.csv``/``.tsv``: rows).

    The file appears whole or not at all.
    """
    check_output_path(path)
    suffix = os.path.splitext(path)[1].lower()
    folder = os.path.dirname(os.path.abspath(path))
    if suffix == ".npy":
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(report.losses, dtype=np.float64), allow_pickle=False)
        payload = buffer.getvalue()
    else:
        text = io.StringIO()
        write_delimited(report, text, delimiter="," if suffix == ".csv" else "\t")
        payload = text.getvalue().encode("utf-8")
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".ce-loss-", suffix=suffix)
    except OSError as error:
        raise OutputError(f"--output '{path}' cannot be written: {error.strerror or error}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except OSError as error:
        raise OutputError(f"--output '{path}' cannot be written: {error.strerror or error}") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
