"""Turn a SRC string into a numpy array, or raise the project's errors.

A SRC is one of:

- a path: ``.npy``; ``.npz`` (``file.npz:key``, no key needed for a single
  array); ``.csv``; ``.tsv``; ``.txt`` (whitespace-separated); ``.json`` (a
  nested list of numbers); another suffix is recognised by its content; a pipe
  or a device is read as a stream (with a bound);
- ``-``: standard input, CSV/TSV/whitespace text or ``.npy``/``.npz`` bytes
  (recognised by their magic prefix);
- inline numbers: rows split by ``;`` and values by ``,``
  (``"0.1,0.5,0.3;0.2,0.2,0.6"``), or a JSON nested list.

Text tables whose first row is not all numbers have it taken as a header.
A text table of one row or one column becomes a 1-D array. ``.npy`` and
``.npz`` are always read with ``allow_pickle=False``. No printing here.
"""

from __future__ import annotations

import io
import os
import re
import stat
from typing import IO, Any, Literal

import numpy as np
from numpy.typing import NDArray

from ce_cli.errors import ColumnChoiceError, InputError, OptionError
from ce_cli.io import shards, tensor_files, text_stream
from ce_cli.io.columns import NO_CHOICE, ColumnChoice, HeaderMode
from ce_cli.io.dialects import FORMS, decimal_commas, semicolon_separated, table_delimiter
from ce_cli.io.numpy_files import NPY_MAGIC, NpyFile, NpzMember, open_npy, read_npy, read_npz
from ce_cli.io.other_formats import json_array, refuse_unread_format
from ce_cli.io.table_plan import NUMBER, TablePlan, plan_table
from ce_cli.io.text_stream import TextRows
from ce_cli.io.text_tables import TextTable, not_text, parse_table, read_ids
from ce_cli.records import frozen, replace

ZIP_MAGIC = b"PK\x03\x04"
_DELIMITERS = {".csv": ",", ".tsv": "\t", ".txt": None}  # text suffixes and their cell delimiter
SUFFIXES = (".npy", ".npz", ".json", *_DELIMITERS)  # the suffixes read by name; others are recognised by content
_HEAD_BYTES = 1 << 16  # a text file longer than this is parsed from the file by numpy, the header from its head
_STREAM_BLOCK = 1 << 20  # streams (stdin, pipes, devices) are read in blocks of this size
MAX_STREAM_BYTES = 1 << 34  # a stream longer than this (16 GiB) is refused rather than read until memory runs out


@frozen
class SourceArray:
    """An array read from a SRC.

    Attributes:
        array: the values as read (text becomes float64); a ``.npy`` file is read later,
            block by block (:class:`~ce_cli.io.numpy_files.NpyFile`).
        label: how messages name the source, e.g. ``"logits file 'x.csv'"``.
        columns: the header of a text table, or ``None``.
        skipped_index: a text table's first column was pandas' row index and was left out.
        suspicious_header: a text table's header mixes numbers with this non-number (see
            :class:`~ce_cli.io.text_tables.TextTable`).
        parsed_as_text: read from text (columns to leave out were left out while parsing).
        form: what was read: ``"npy"``, ``"npz"``, ``"json"``, ``"csv"``, ``"tsv"``, ``"text"``
            (whitespace-separated), ``"csv (;, decimal commas)"``, ``"inline"``; shards: the first's.
        file: the path or pattern read, ``"-"`` for stdin, ``None`` for inline numbers.
        plan: how a text table was read (its header and columns), or ``None``.
        ids: the id column's cells, one per row (``--id-column``), or ``None``.
    """

    array: NDArray[Any] | NpyFile | NpzMember | TextRows | shards.Shards | tensor_files.ParquetRows
    label: str
    columns: tuple[str, ...] | None = None
    skipped_index: bool = False
    suspicious_header: str | None = None
    parsed_as_text: bool = False
    form: str = "npy"
    file: str | None = None
    plan: TablePlan | None = None
    ids: NDArray[np.str_] | text_stream.LazyIds | None = None


def load(
    src: str,
    role: str,
    stdin: IO[bytes] | None = None,
    *,
    choice: ColumnChoice = NO_CHOICE,
    header_mode: HeaderMode = "auto",
) -> SourceArray:
    """Read the array that ``src`` names.

    Args:
        src: a path (``file.npz:key`` allowed), ``-`` for ``stdin``, or inline
            numbers.
        role: what the array is (``"logits"``, ``"targets"``, ``"weight"``),
            for messages.
        stdin: the binary stream ``-`` reads.
        choice: the columns of a table the user named (to leave out, for the logits, the target,
            the ids); a text table never parses the columns left out, so they may hold text.
        header_mode: ``"auto"`` (the first row is a header by the rules of
            :func:`~ce_cli.io.table_plan.plan_table`), ``"yes"`` or ``"no"``.

    Raises:
        InputError: the source is missing, unreadable or malformed.
        OptionError: a column in ``choice`` that the table does not have.
    """
    loaded = _load(src, role, stdin, _Reading(choice, header_mode))
    if loaded.parsed_as_text:
        return loaded
    if choice.ids is not None or choice.logits is not None:
        option = "ids" if choice.ids is not None else "logits"
        raise ColumnChoiceError(option, f"{loaded.label} is {loaded.form} data")
    if choice.drop and loaded.columns is None:
        return _drop_columns(loaded, choice.drop)
    return loaded


@frozen
class _Reading:
    """How text tables are read: the columns chosen and the header rule."""

    choice: ColumnChoice
    header_mode: HeaderMode


def _load(src: str, role: str, stdin: IO[bytes] | None, reading: _Reading) -> SourceArray:
    if src == "-":
        label = f"{role} from stdin"
        if stdin is None:
            raise InputError(f"{label}: no standard input to read")
        data = read_stream(stdin, label)
        if not data:
            raise InputError(f"{label}: standard input is empty")
        return replace(_from_bytes(data, None, label, "", reading), file="-")
    path, key = _split_npz_key(src)
    if key is None:
        path, key = tensor_files.split_key(path)
    if os.path.exists(path):
        if path.lower().endswith(tensor_files.SUFFIXES):
            return _tensor_file(path, key, f"{role} file '{path}'")
        return _from_file(path, key, f"{role} file '{path}'", reading)
    if _looks_inline(src):
        return replace(_inline(src, f"inline {role}", reading), file=None)
    if shards.is_pattern(path):  # a glob ce-loss expands: the files, sorted by name, as one array
        files = shards.expand(path, role)
        parts = [_released(_load(file if key is None else f"{file}:{key}", role, None, reading)) for file in files]
        arrays = [part.array for part in parts]
        widths = {a.shape[1] for a in arrays if len(a.shape) == 2}
        arrays = [  # a text table of one data row is read as a vector: a row, among tables
            a.reshape(1, -1)
            if isinstance(a, np.ndarray) and p.parsed_as_text and a.ndim == 1 and widths == {a.size}
            else a
            for p, a in zip(parts, arrays, strict=True)
        ]
        array = shards.Shards(arrays, files, [part.label for part in parts])
        first = parts[0]
        ids = None if first.ids is None else np.concatenate([part.ids for part in parts if part.ids is not None])
        return SourceArray(
            array,
            f"{role} files '{src}'",
            first.columns,
            first.skipped_index,
            None,
            first.parsed_as_text,
            first.form,
            src,
            first.plan,
            ids,
        )
    raise InputError(f"{role} file '{path}' does not exist")


def _tensor_file(path: str, key: str | None, label: str) -> SourceArray:
    """A safetensors, ``.pt`` or Parquet file (:mod:`ce_cli.io.tensor_files`)."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".safetensors":
        return SourceArray(tensor_files.read_safetensors(path, key, label), label, form="safetensors", file=path)
    if suffix in (".pt", ".pth"):
        return SourceArray(tensor_files.read_pt(path, key, label), label, form="pt", file=path)
    array, names = tensor_files.read_parquet(path, key, label)
    return SourceArray(array, label, names, form="parquet", file=path)


def _released(part: SourceArray) -> SourceArray:
    """A shard whose file is closed until its rows are read: a run holds a bounded number of files open,
    whatever the number of shards."""
    file = getattr(part.array, "file", None)
    if file is not None:
        file.release()
    return part


def _drop_columns(loaded: SourceArray, drop: tuple[str, ...]) -> SourceArray:
    """Leave columns out of an array read without a header (``.npy``, ``.npz``, inline JSON), by index."""
    array = np.asarray(loaded.array)
    if array.ndim != 2:
        raise OptionError(f"{loaded.label} is not a table of rows and columns to leave columns out of")
    width = array.shape[1]
    keep = np.ones(width, dtype=bool)
    for name in drop:
        if not (re.fullmatch(r"-?\d{1,18}", name.strip()) and -width <= int(name) < width):
            raise OptionError(f"{loaded.label} has no column {name!r} to leave out (it has no header: {width} columns)")
        keep[int(name)] = False
    return replace(loaded, array=array[:, keep])


def _split_npz_key(src: str) -> tuple[str, str | None]:
    """``"a.npz:key"`` -> ``("a.npz", "key")``; anything else is left whole."""
    head, sep, key = src.rpartition(":")
    if sep and head.lower().endswith(".npz") and not os.path.exists(src):
        return head, key
    return src, None


def source_files(src: str) -> list[str]:
    """The existing files a SRC reads: ``a.npz`` for ``a.npz:key``, every file a pattern matches (its
    ``:key`` too), none for stdin and inline numbers."""
    if src == "-":
        return []
    path, _ = _split_npz_key(src)
    if os.path.exists(path):
        return [path]
    return shards.matches(path) if shards.is_pattern(path) else []


def _looks_inline(src: str) -> bool:
    stripped = src.strip()
    if stripped.startswith("["):
        return True
    if NUMBER.fullmatch(stripped):
        return True
    has_separator = "," in stripped or ";" in stripped
    return has_separator and "/" not in stripped and os.path.splitext(stripped)[1].lower() not in SUFFIXES


def _kind(suffix: str, head: bytes) -> Literal["npy", "npz", "text"]:
    """How a source is read: as its suffix says when it names a format, else by its first bytes."""
    if suffix in (".npy", ".npz"):
        return "npy" if suffix == ".npy" else "npz"
    if suffix not in _DELIMITERS:
        if head.startswith(NPY_MAGIC):
            return "npy"
        if head.startswith(ZIP_MAGIC):
            return "npz"
    return "text"


def read_stream(stream: IO[bytes], label: str) -> bytes:
    """All of a stream (stdin, a pipe, a device), read in blocks, with a bound.

    Data that is neither NumPy's nor a zip's and holds a NUL byte in its first
    block is no text: it is refused at once, so ``/dev/zero`` is not read until
    memory runs out.

    Raises:
        InputError: binary data that is not NumPy's, or more than ``MAX_STREAM_BYTES``.
    """
    blocks: list[bytes] = []
    total = 0
    while True:
        block = stream.read(_STREAM_BLOCK)
        if not block:
            return b"".join(blocks)
        if not blocks and b"\x00" in block and not block.startswith((NPY_MAGIC, ZIP_MAGIC)):
            raise not_text(label)
        total += len(block)
        if total > MAX_STREAM_BYTES:
            raise InputError(f"{label} goes on beyond {MAX_STREAM_BYTES} bytes; save it to a file first")
        blocks.append(block)


def _with_first_rows(handle: IO[bytes], head: bytes) -> bytes:
    """``head`` read on until it holds the first two rows whole (a header can be longer than any head)."""
    while True:
        rows = [line for line in head.split(b"\n")[:-1] if line.strip() and not line.lstrip().startswith(b"#")]
        if len(rows) >= 2:
            return head
        more = handle.read(max(len(head), _HEAD_BYTES))
        if not more:
            return head
        head += more


def _from_file(path: str, key: str | None, label: str, reading: _Reading) -> SourceArray:
    if os.path.isdir(path):
        raise InputError(f"{label} is a directory, not a file")
    refuse_unread_format(path, label)
    suffix = os.path.splitext(path)[1].lower()
    try:
        with open(path, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):  # a pipe or a device: read it as a stream
                data = read_stream(handle, label)
            else:
                head = handle.read(_HEAD_BYTES)
                kind = _kind(suffix, head)
                if kind == "npy":
                    return SourceArray(open_npy(handle, path, label), label, file=path)
                if kind == "text" and suffix in _DELIMITERS:
                    head = _with_first_rows(handle, head)
                    big = os.fstat(handle.fileno()).st_size > len(head)
                    if big and not semicolon_separated(head):  # numpy's parser reads the rest itself
                        return replace(_from_text_file(path, head, _DELIMITERS[suffix], label, reading), file=path)
                data = head + handle.read()
    except OSError as error:
        raise InputError(f"{label} cannot be read: {error.strerror or error}") from None
    if not data:
        raise InputError(f"{label} is empty")
    return replace(_from_bytes(data, key, label, suffix, reading), file=path)


def _from_text(table: TextTable, label: str, form: str) -> SourceArray:
    return SourceArray(
        table.array,
        label,
        table.header,
        table.skipped_index,
        table.suspicious_header,
        parsed_as_text=True,
        form=form,
        plan=table.plan,
        ids=table.ids,
    )


def _from_text_file(path: str, head: bytes, delimiter: str | None, label: str, reading: _Reading) -> SourceArray:
    """A large text table: the header is found in ``head``, numpy's parser reads the file itself."""
    if head.startswith(NPY_MAGIC) or head.startswith(ZIP_MAGIC):
        raise InputError(f"{label} holds binary NumPy data, not the text its name suggests")
    text = _decoded_head(head, True, label)
    form = FORMS[delimiter]
    if os.path.getsize(path) > text_stream.STREAM_TEXT_BYTES:  # read a chunk at a time as it is scored
        plan = plan_table(
            text.replace("\r\n", "\n"),
            delimiter,
            label,
            allow_header=True,
            choice=reading.choice,
            header_mode=reading.header_mode,
        )
        rows = text_stream.open_text_rows(path, plan, delimiter, label)
        if rows is not None:
            ids = None
            if plan.ids_at is not None:  # read when a name is first shown: -q and -o .npy never read it

                def names(plan: TablePlan = plan) -> NDArray[np.str_]:
                    return read_ids(plan, delimiter, label, text=None, path=path, data=None)

                ids = text_stream.LazyIds(names, rows.shape[0], label)
            return SourceArray(
                rows, label, plan.header, plan.skipped_index, plan.suspicious_header, True, form, path, plan, ids
            )
    table = parse_table(
        text, delimiter, label, allow_header=True, path=path, choice=reading.choice, header_mode=reading.header_mode
    )
    return _from_text(table, label, form)


def _decoded_head(head: bytes, cut: bool, label: str) -> str:
    """The beginning of a text source as text; when ``cut``, its last character may be cut in two."""
    try:
        return head.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        if not cut or error.start < len(head) - 3:  # not merely a character cut at the end of the head
            raise not_text(label) from None
        return head[: error.start].decode("utf-8-sig")


def _from_bytes(data: bytes, key: str | None, label: str, suffix: str, reading: _Reading) -> SourceArray:
    """Decode ``data`` as :func:`_kind` says (``.json``: a nested list of numbers, as inline JSON)."""
    if suffix == ".json":
        try:
            return SourceArray(json_array(data.decode("utf-8-sig"), label), label, form="json")
        except UnicodeDecodeError:
            raise not_text(label) from None
    kind = _kind(suffix, data)
    if kind == "npy":
        if not data.startswith(NPY_MAGIC):
            raise InputError(f"{label} is not a .npy file (no NumPy header)")
        return SourceArray(read_npy(data, label), label)
    if kind == "npz":
        return SourceArray(read_npz(data, key, label), label, form="npz")
    if data.startswith(NPY_MAGIC) or data.startswith(ZIP_MAGIC):
        raise InputError(f"{label} holds binary NumPy data, not the text its name suggests")
    head = _with_first_rows(io.BytesIO(data[_HEAD_BYTES:]), data[:_HEAD_BYTES])
    text = _decoded_head(head, len(head) < len(data), label)  # the rest is decoded as it is parsed
    delimiter = table_delimiter(suffix, text)
    form = FORMS[delimiter]
    if delimiter == ";" and b"," in data:
        data, text = decimal_commas(data, text, label)
        form += " with decimal commas"
    table = parse_table(
        text, delimiter, label, allow_header=True, data=data, choice=reading.choice, header_mode=reading.header_mode
    )
    return _from_text(table, label, form)


def _inline(src: str, label: str, reading: _Reading) -> SourceArray:
    stripped = src.strip()
    if stripped.startswith("["):
        return SourceArray(json_array(stripped, label), label, form="inline JSON")
    table = parse_table(stripped.replace(";", "\n"), ",", label, allow_header=False, choice=reading.choice)
    return _from_text(table, label, "inline")
