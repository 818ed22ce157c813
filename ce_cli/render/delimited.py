"""Per-sample CSV/TSV written a block of rows at a time: memory bounded by the block, not by the samples.

Each column of a block is spelled at once (:func:`ce_cli.render.numbers.spelled` for numbers), and
cells are quoted as the ``csv`` module quotes them by default (``QUOTE_MINIMAL``): only a cell holding
the delimiter, a quote or a line end, which only a sample's name can.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TextIO

import numpy as np

from ce_cli.render import RenderOptions
from ce_cli.render.numbers import STREAM_BLOCK

Columns = Callable[[int, int], Sequence[Sequence[str]]]


def quoted(cell: str, delimiter: str) -> str:
    """``cell`` as ``csv.writer`` writes it with minimal quoting."""
    if delimiter in cell or '"' in cell or "\n" in cell or "\r" in cell:
        return '"' + cell.replace('"', '""') + '"'
    return cell


def index_cells(options: RenderOptions, sample_shape: tuple[int, ...], start: int, stop: int) -> list[str]:
    """The index (or name) column of flat samples ``start:stop``, as :meth:`RenderOptions.index_text` spells it."""
    if options.names is None and len(sample_shape) == 1:
        return list(map(str, range(start, stop)))
    positions = np.unravel_index(np.arange(start, stop), sample_shape) if sample_shape else ()
    indices = zip(*(p.tolist() for p in positions), strict=True) if sample_shape else [()] * (stop - start)
    return [options.index_text(tuple(index)) for index in indices]


def write_delimited(stream: TextIO, delimiter: str, header: Sequence[str], count: int, columns: Columns) -> None:
    """A header row, then ``count`` rows whose cells ``columns(start, stop)`` gives column by column; the
    first column (the index or the sample's name) is quoted where it needs it, the others are numbers."""
    stream.write(delimiter.join(quoted(name, delimiter) for name in header) + "\n")
    for start in range(0, count, STREAM_BLOCK):
        stop = min(count, start + STREAM_BLOCK)
        cells = [
            [quoted(c, delimiter) for c in column] if i == 0 else column
            for i, column in enumerate(columns(start, stop))
        ]
        stream.write("".join(delimiter.join(row) + "\n" for row in zip(*cells, strict=True)))
