"""Writing results to a stream: one module per result type, one table of writers in each.

``compute.WRITERS``, ``compare.WRITERS`` and ``explain.WRITERS`` map each
``--format`` name to its writer; :func:`writer_for` picks one, and an unknown
name is an error, never a silent fallback. Nothing here computes over the
input or exits. Machine formats (JSON, CSV, TSV, quiet) are plain text, never
through Rich; Rich is imported only when a table is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO, TypeVar

from numpy.typing import NDArray

from ce_cli.errors import choose

R = TypeVar("R")
DEFAULT_MAX_ROWS = 20


@dataclass(frozen=True)
class RenderOptions:
    """How a writer lays out its result.

    Attributes:
        max_rows: per-sample rows a table shows before eliding the middle.
    """

    max_rows: int = DEFAULT_MAX_ROWS


Writer = Callable[[R, TextIO, RenderOptions], None]


def losses_file_encoders(
    losses: Callable[[R], NDArray[Any]], write_csv: Writer[R], write_tsv: Writer[R]
) -> Mapping[str, Callable[[R], bytes]]:
    """What ``--output`` writes, by the file's suffix: ``.npy`` the float64 ``losses(result)``
    in their shape, ``.csv``/``.tsv`` what ``--format csv``/``tsv`` prints."""

    def npy_bytes(result: R) -> bytes:
        import io

        import numpy as np

        buffer = io.BytesIO()
        np.save(buffer, np.asarray(losses(result), dtype=np.float64), allow_pickle=False)
        return buffer.getvalue()

    def text_bytes(write: Writer[R]) -> Callable[[R], bytes]:
        def encode(result: R) -> bytes:
            import io

            text = io.StringIO()
            write(result, text, RenderOptions())
            return text.getvalue().encode("utf-8")

        return encode

    return {".npy": npy_bytes, ".csv": text_bytes(write_csv), ".tsv": text_bytes(write_tsv)}


def writer_for(writers: Mapping[str, Writer[R]], name: str) -> Writer[R]:
    """The writer called ``name``.

    Raises:
        OptionError: no writer has that name.
    """
    return choose(writers, name, "format")
