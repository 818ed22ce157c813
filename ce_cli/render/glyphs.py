"""The characters a stream can show: tables' and histograms' Unicode glyphs, or ASCII in their place.

On a stream whose encoding is ASCII (``PYTHONIOENCODING=ascii``, an old terminal),
Rich draws its borders in ASCII already; the glyphs ce-loss writes itself
(histogram bars, the target's mark, ``Σ`` and ``·`` in derivations) are spelled
in ASCII before the layout (:func:`in_ascii`), and any character left that the
stream cannot encode becomes ``?`` as it is written (:class:`Encodable`), so a
table is written whole rather than failing halfway.
"""

from __future__ import annotations

from typing import Any, TextIO

# What each glyph becomes in ASCII: before the layout, so a longer spelling keeps the columns aligned.
ASCII_SPELLING = str.maketrans(
    {
        "Σ": "sum",
        "·": "*",
        "◀": "<",
        "█": "#",
        "▇": "%",
        "▆": "*",
        "▅": "+",
        "▄": "=",
        "▃": "-",
        "▂": ":",
        "▁": ".",
        "…": "...",
        "≈": "~",
    }
)


def shows_unicode(stream: Any) -> bool:
    """Whether ``stream``'s encoding can write the glyphs ce-loss uses."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        "█◀Σ·…".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def in_ascii(renderable: Any) -> Any:
    """A string, or a Rich table's title, headers and string cells, with the glyphs spelled in ASCII."""
    from rich.table import Table

    if isinstance(renderable, str):
        return renderable.translate(ASCII_SPELLING)
    if isinstance(renderable, Table):
        if isinstance(renderable.title, str):
            renderable.title = renderable.title.translate(ASCII_SPELLING)
        for column in renderable.columns:
            if isinstance(column.header, str):
                column.header = column.header.translate(ASCII_SPELLING)
            column._cells = [c.translate(ASCII_SPELLING) if isinstance(c, str) else c for c in column._cells]
    return renderable


class Encodable:
    """A text stream that writes what its encoding cannot as ``?`` (one for one: columns stay aligned)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._encoding = getattr(stream, "encoding", None) or "utf-8"

    def write(self, text: str) -> int:
        self._stream.write(text.encode(self._encoding, "replace").decode(self._encoding))
        return len(text)

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)
