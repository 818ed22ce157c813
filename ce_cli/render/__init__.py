"""Writing results to a stream: one module per result type, one table of writers in each.

``compute.WRITERS``, ``compare.WRITERS`` and ``explain.WRITERS`` map each
``--format`` name to its writer; :func:`writer_for` picks one, and an unknown
name is an error, never a silent fallback. Nothing here computes over the
input or exits. Machine formats (JSON, CSV, TSV, quiet) are plain text, never
through Rich; Rich is imported only when a table is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO, TypeVar

from numpy.typing import NDArray

from ce_cli.errors import choose
from ce_cli.records import frozen

if TYPE_CHECKING:
    from ce_cli.io.provenance import ReadRecord, SampleNames

R = TypeVar("R")
DEFAULT_MAX_ROWS = 20


@frozen
class RenderOptions:
    """How a writer lays out its result.

    Attributes:
        max_rows: per-sample rows a table shows before eliding the middle.
        names: each sample's name (its id, or its shard file and row), shown instead of its index;
            ``None``: the index.
        read: what was read from each source, for the JSON ``read`` key.
        state: the result's mergeable statistics (:class:`ce_cli.accumulators.LossStats`), for the JSON
            ``state`` key that ``ce-loss pool`` merges; ``None``: not written.
        extra: further JSON keys (``compute --calibration``'s ``calibration`` and ``temperature``).
    """

    max_rows: int = DEFAULT_MAX_ROWS
    names: SampleNames | None = None
    read: tuple[ReadRecord, ...] = ()
    state: dict[str, Any] | None = None
    extra: dict[str, Any] | None = None

    @property
    def index_header(self) -> str:
        """The per-sample column's header: ``id`` where samples have names, else ``index``."""
        return "index" if self.names is None else "id"

    def index_text(self, index: tuple[int, ...]) -> str:
        """A sample's index as tables and CSV show it: its name where it has one (see :attr:`names`)."""
        if self.names is not None:
            return self.names.index_text(index)
        from ce_cli.render.numbers import index_text

        return index_text(index)

    def named(self, index: tuple[int, ...]) -> str:
        """``" (id s17)"`` where samples have names, for text that shows the index itself; else ``""``."""
        return "" if self.names is None else f" ({self.index_header} {self.index_text(index)})"

    def sample_text(self, position: int, sample_shape: tuple[int, ...]) -> str:
        """:meth:`index_text` of the flat ``position`` in ``sample_shape``."""
        import numpy as np

        return self.index_text(tuple(int(i) for i in np.unravel_index(position, sample_shape)))

    def json_keys(self, rows: int, *, lists: bool = True) -> dict[str, Any]:
        """``read`` (what was read), ``ids`` where samples have names (one per row of the first axis), and
        ``state`` where it is written. Without ``lists``, ``ids`` is left ``None`` for the writer to stream
        (:meth:`streamed_ids`)."""
        out: dict[str, Any] = {"read": [r.json() for r in self.read]}
        if self.names is not None:
            out["ids"] = self.names.json(rows) if lists else None
        if self.state is not None:
            out["state"] = self.state
        if self.extra:
            out.update(self.extra)
        return out


DEFAULT_OPTIONS = RenderOptions()


def streamed_keys(options: RenderOptions, rows: int, losses: NDArray[Any]) -> dict[str, Any]:
    """What :func:`ce_cli.render.numbers.write_json_line` streams: the losses, and the samples' names where
    they have names (``rows`` of them, read a block at a time)."""
    from ce_cli.render.numbers import JsonItems

    out: dict[str, Any] = {"losses": losses}
    names = options.names
    if names is not None:
        out["ids"] = JsonItems(rows, lambda start, stop: [names(row) for row in range(start, stop)])
    return out


Writer = Callable[[R, TextIO, RenderOptions], None]


def losses_file_encoders(
    losses: Callable[[R], NDArray[Any]], write_csv: Writer[R], write_tsv: Writer[R]
) -> Mapping[str, Callable[[R, RenderOptions, BinaryIO], None]]:
    """What ``--output`` writes into a binary stream, by the file's suffix: ``.npy`` the float64
    ``losses(result)`` in their shape, ``.csv``/``.tsv`` what ``--format csv``/``tsv`` prints (as it goes)."""

    def write_npy(result: R, options: RenderOptions, stream: BinaryIO) -> None:
        import numpy as np

        np.save(stream, np.asarray(losses(result), dtype=np.float64), allow_pickle=False)

    def text(write: Writer[R]) -> Callable[[R, RenderOptions, BinaryIO], None]:
        def encode(result: R, options: RenderOptions, stream: BinaryIO) -> None:
            import io

            wrapper = io.TextIOWrapper(stream, encoding="utf-8", newline="", write_through=False)
            try:
                write(result, wrapper, options)
                wrapper.flush()
            finally:
                wrapper.detach()  # the caller closes the file

        return encode

    return {".npy": write_npy, ".csv": text(write_csv), ".tsv": text(write_tsv)}


def writer_for(writers: Mapping[str, Writer[R]], name: str) -> Writer[R]:
    """The writer called ``name``.

    Raises:
        OptionError: no writer has that name.
    """
    return choose(writers, name, "format")
