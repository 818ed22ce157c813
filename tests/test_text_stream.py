"""Large text tables read a chunk at a time as they are scored: the same results as a table read whole.

The thresholds are lowered here (``STREAM_TEXT_BYTES`` to 0, chunks of a few
hundred bytes), so small files take the streaming path through many chunks;
every test runs on the numpy path and on the compiled kernel's parser.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import ce_cli.native as native
from ce_cli.io import sources, text_stream, text_tables
from ce_cli.io.sources import load
from ce_cli.io.text_stream import TextRows
from tests.conftest import Run, warnings_in

KERNELS = ["numpy", "native"] if native.runnable_variants() else ["numpy"]


@pytest.fixture(params=KERNELS)
def streamed(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Text files of any size stream, in chunks of about 300 bytes, on each kernel."""
    monkeypatch.setenv(native.ENVIRONMENT, request.param)
    monkeypatch.setattr(text_stream, "STREAM_TEXT_BYTES", 0)
    monkeypatch.setattr(text_stream, "CHUNK_TEXT_BYTES", 300)
    monkeypatch.setattr(sources, "_HEAD_BYTES", 256)  # files longer than this are read from the file
    return str(request.param)


def _table(rows: int = 400, classes: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((rows, classes)) * 3, rng.integers(0, classes, rows)


def _write(path: Path, x: np.ndarray, header: str | None = "a,b,c,d,e", extras: bool = False) -> None:
    lines = [] if header is None else [header]
    for i, row in enumerate(x):
        if extras and i % 37 == 5:
            lines += ["", "# a comment line", ""]
        lines.append(",".join(repr(float(v)) for v in row) + (" # end" if extras and i % 11 == 0 else ""))
    path.write_text(("\r\n" if extras else "\n").join(lines) + "\n")


def _json(run: Run, *args: str, stderr: str = "") -> dict:  # type: ignore[type-arg]
    result = run("compute", *args, "--format", "json", "--reduction", "none")
    assert result.exit_code == 0, result.stderr
    assert stderr in result.stderr if stderr else warnings_in(result.stderr) == []
    out: dict = json.loads(result.stdout)  # type: ignore[type-arg]
    return out


@pytest.mark.parametrize("extras", [False, True], ids=["plain", "blank-lines-comments-crlf"])
def test_a_streamed_table_scores_as_the_table_read_whole(
    streamed: str, run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extras: bool
) -> None:
    x, t = _table()
    _write(tmp_path / "x.csv", x, extras=extras)
    np.save(tmp_path / "t.npy", t)
    loaded = load(str(tmp_path / "x.csv"), "logits")
    assert isinstance(loaded.array, TextRows)
    assert loaded.array.shape == (400, 5)
    assert len(loaded.array.block_bounds()) > 10  # many chunks
    np.testing.assert_array_equal(np.asarray(loaded.array), x)  # repr() round-trips: the values exactly
    ours = _json(run, "-l", str(tmp_path / "x.csv"), "-t", str(tmp_path / "t.npy"), "--top-k", "2")
    monkeypatch.setattr(text_stream, "STREAM_TEXT_BYTES", 1 << 40)
    assert not isinstance(load(str(tmp_path / "x.csv"), "logits").array, TextRows)
    whole = _json(run, "-l", str(tmp_path / "x.csv"), "-t", str(tmp_path / "t.npy"), "--top-k", "2")
    assert ours == whole


def test_rows_are_read_in_any_order(streamed: str, tmp_path: Path) -> None:
    x, _ = _table(300, 4)
    _write(tmp_path / "x.csv", x, header=None, extras=True)
    rows = load(str(tmp_path / "x.csv"), "logits").array
    assert isinstance(rows, TextRows)
    for start, stop in [(250, 300), (0, 3), (17, 181), (299, 300), (100, 100)]:
        np.testing.assert_array_equal(rows.leading(start, stop), x[start:stop])


def test_dropped_columns_and_a_pandas_index_are_left_out_while_streaming(
    streamed: str, run: Run, tmp_path: Path
) -> None:
    x, t = _table(200, 3)
    lines = [",id,a,b,c"] + [
        f"{i},sample-{i},{float(row[0])!r},{float(row[1])!r},{float(row[2])!r}" for i, row in enumerate(x)
    ]
    (tmp_path / "x.csv").write_text("\n".join(lines) + "\n")
    np.save(tmp_path / "t.npy", t)
    result = run("compute", "-l", str(tmp_path / "x.csv"), "-t", str(tmp_path / "t.npy"), "--drop-columns", "id")
    assert result.exit_code == 0, result.stderr
    assert "index" in result.stderr  # the notice that pandas' row index was left out
    args = ["-l", str(tmp_path / "x.csv"), "-t", str(tmp_path / "t.npy"), "--drop-columns", "id"]
    ours = _json(run, *args, stderr="read as the row index")
    np.testing.assert_allclose(ours["losses"], _reference_losses(x, t), rtol=1e-14)


def _reference_losses(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    import mpmath

    mpmath.mp.dps = 40
    out = [
        float(mpmath.log(sum(mpmath.exp(mpmath.mpf(float(v))) for v in row)) - mpmath.mpf(float(row[k])))
        for row, k in zip(x, t, strict=True)
    ]
    return np.array(out)


def test_a_bad_cell_deep_in_the_file_is_named_by_line_and_column(streamed: str, run: Run, tmp_path: Path) -> None:
    x, t = _table(300, 5)
    _write(tmp_path / "x.csv", x)
    lines = (tmp_path / "x.csv").read_text().split("\n")
    cells = lines[250].split(",")
    cells[3] = "0.5x"
    lines[250] = ",".join(cells)
    (tmp_path / "x.csv").write_text("\n".join(lines))
    np.save(tmp_path / "t.npy", t)
    result = run("compute", "-l", str(tmp_path / "x.csv"), "-t", str(tmp_path / "t.npy"))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "line 251, column 4: '0.5x' is not a number" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_row_of_another_width_is_named(streamed: str, run: Run, tmp_path: Path) -> None:
    x, t = _table(300, 5)
    _write(tmp_path / "x.csv", x)
    lines = (tmp_path / "x.csv").read_text().split("\n")
    lines[180] += ",1.0"
    (tmp_path / "x.csv").write_text("\n".join(lines))
    np.save(tmp_path / "t.npy", t)
    result = run("compute", "-l", str(tmp_path / "x.csv"), "-t", str(tmp_path / "t.npy"))
    assert result.exit_code == 1
    assert "line 181 has 6 values, but earlier rows have 5" in result.stderr


def test_quoted_cells_are_left_to_numpys_parser(streamed: str, run: Run, tmp_path: Path) -> None:
    x, t = _table(120, 3)
    lines = ['"a","b","c"'] + [",".join(f'"{float(v)!r}"' for v in row) for row in x]
    (tmp_path / "x.csv").write_text("\n".join(lines) + "\n")
    np.save(tmp_path / "t.npy", t)
    out = _json(run, "-l", str(tmp_path / "x.csv"), "-t", str(tmp_path / "t.npy"))
    np.testing.assert_allclose(out["losses"], _reference_losses(x, t), rtol=1e-14)


def test_a_target_column_of_a_streamed_table(streamed: str, run: Run, tmp_path: Path) -> None:
    x, t = _table(150, 4)
    lines = ["a,b,c,d,label"] + [",".join(repr(float(v)) for v in row) + f",{k}" for row, k in zip(x, t, strict=True)]
    (tmp_path / "x.csv").write_text("\n".join(lines) + "\n")
    out = _json(run, "-l", str(tmp_path / "x.csv"), "--target-column", "label")
    np.testing.assert_allclose(out["losses"], _reference_losses(x, t), rtol=1e-14)


def test_the_binary_family_streams_too(streamed: str, run: Run, tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    x = rng.standard_normal((200, 3)) * 4
    t = (rng.random((200, 3)) < 0.4).astype(float)
    _write(tmp_path / "x.csv", x, header="a,b,c")
    np.save(tmp_path / "t.npy", t)
    args = ["--task", "binary", "-l", str(tmp_path / "x.csv"), "-t", str(tmp_path / "t.npy"), "--format", "json"]
    result = run("compute", *args)
    assert result.exit_code == 0, result.stderr
    expected = np.mean(np.logaddexp(0, x) - t * x)  # softplus(x) - t x, written independently
    assert json.loads(result.stdout)["mean"] == pytest.approx(expected, rel=1e-13)


def test_a_single_column_or_cr_line_ends_are_read_whole(streamed: str, tmp_path: Path) -> None:
    (tmp_path / "one.csv").write_text("\n".join(str(v) for v in range(100)) + "\n")
    assert not isinstance(load(str(tmp_path / "one.csv"), "logits").array, TextRows)
    (tmp_path / "cr.csv").write_text("\r".join(f"{v},{v + 1}" for v in range(1, 101)) + "\r")
    loaded = load(str(tmp_path / "cr.csv"), "logits")
    assert not isinstance(loaded.array, TextRows)
    assert np.asarray(loaded.array).shape == (100, 2)


def test_the_progress_covers_the_parsing_chunk_by_chunk(streamed: str, tmp_path: Path) -> None:
    from ce_cli.families.softmax.inputs import validate_inputs
    from ce_cli.families.softmax.losses import evaluate
    from ce_cli.formulas import REGISTRY

    x, t = _table(500, 4)
    _write(tmp_path / "x.csv", x, header="a,b,c,d")
    rows = load(str(tmp_path / "x.csv"), "logits").array
    assert isinstance(rows, TextRows)
    done: list[int] = []
    losses = evaluate(validate_inputs(rows, t), REGISTRY["cross_entropy"], progress=done.append)
    assert done == [stop for _, stop in rows.block_bounds()]  # a step per chunk parsed and scored
    assert done[-1] == 500
    assert len(done) > 10
    np.testing.assert_allclose(losses.per_sample, _reference_losses(x, t), rtol=1e-14)


def _labelled(path: Path, x: np.ndarray, t: np.ndarray, ids: bool = False) -> None:
    header = ("id," if ids else "") + ",".join(f"l{i}" for i in range(x.shape[1])) + ",label"
    rows = [
        (f"s{i}," if ids else "") + ",".join(repr(float(v)) for v in row) + f",{int(k)}"
        for i, (row, k) in enumerate(zip(x, t, strict=True))
    ]
    path.write_text("\n".join([header, *rows]) + "\n")


@pytest.mark.parametrize("column", ["label", "-1"])
def test_a_target_column_streams_with_the_logits(streamed: str, run: Run, tmp_path: Path, column: str) -> None:
    x, t = _table(300, 4)
    _labelled(tmp_path / "x.csv", x, t)
    loaded = load(str(tmp_path / "x.csv"), "logits")
    assert isinstance(loaded.array, TextRows)
    logits, targets = sources_split(loaded, column)
    assert isinstance(logits, TextRows)  # the logits stay on disk, parsed a chunk at a time
    assert logits.shape == (300, 4)
    np.testing.assert_array_equal(np.asarray(logits), x)
    np.testing.assert_array_equal(targets, t)
    ours = _json(run, "-l", str(tmp_path / "x.csv"), "--target-column", column, stderr="targets label")
    np.testing.assert_allclose(ours["losses"], _reference_losses(x, t), rtol=1e-14)


def sources_split(loaded: sources.SourceArray, column: str) -> tuple[object, np.ndarray]:
    from ce_cli.io.inputs import split_column

    logits, targets = split_column(loaded, column)
    return logits, np.asarray(targets)


def test_a_target_column_with_ids_and_class_weights_streams(streamed: str, run: Run, tmp_path: Path) -> None:
    x, t = _table(250, 3, seed=4)
    _labelled(tmp_path / "x.csv", x, t, ids=True)
    weight = [0.5, 2.0, 1.0]
    args = ["-l", str(tmp_path / "x.csv"), "--target-column", "label", "--id-column", "id"]
    ours = _json(run, *args, "--weight", ",".join(map(str, weight)), stderr="ids id")
    assert ours["ids"][:2] == ["s0", "s1"]
    expected = _reference_losses(x, t) * np.array(weight)[t]
    np.testing.assert_allclose(ours["losses"], expected, rtol=1e-14)
    dropped = _json(run, "-l", str(tmp_path / "x.csv"), "--target-column", "label", "--drop-columns", "id")
    np.testing.assert_allclose(dropped["losses"], _reference_losses(x, t), rtol=1e-14)


def test_a_target_out_of_range_deep_in_a_streamed_column_is_refused(streamed: str, run: Run, tmp_path: Path) -> None:
    x, t = _table(300, 4)
    t[271] = 7
    _labelled(tmp_path / "x.csv", x, t)
    result = run("compute", "-l", str(tmp_path / "x.csv"), "--target-column", "label")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "class 7 at position 271 is out of range for 4 classes" in result.stderr
    assert f"it is on line 273 of '{tmp_path / 'x.csv'}'" in result.stderr  # after the header, counted whole


def test_the_id_column_of_a_streamed_table_is_read_only_when_names_are_shown(
    streamed: str, run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    x, t = _table(120, 3, seed=6)
    _labelled(tmp_path / "x.csv", x, t, ids=True)
    reads: list[str] = []
    original = text_tables.read_ids

    def counted(*args: object, **kwargs: object) -> object:
        reads.append("ids")
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sources, "read_ids", counted)
    args = ["-l", str(tmp_path / "x.csv"), "--target-column", "label", "--id-column", "id"]
    quiet = run("compute", *args, "-q")
    assert quiet.exit_code == 0, quiet.stderr
    assert float(quiet.stdout) == pytest.approx(float(np.mean(_reference_losses(x, t))), rel=1e-14)
    assert reads == []  # -q shows no name: the column was never read
    shown = _json(run, *args, stderr="ids id")
    assert shown["ids"] == [f"s{i}" for i in range(120)]
    assert reads == ["ids"]


def test_a_row_of_another_width_is_refused_though_its_label_column_reads(
    streamed: str, run: Run, tmp_path: Path
) -> None:
    """The label column is read from each line's end; the logits' own pass still refuses a short row."""
    x, t = _table(200, 4, seed=8)
    _labelled(tmp_path / "x.csv", x, t)
    lines = (tmp_path / "x.csv").read_text().split("\n")
    lines[150] = ",".join(lines[150].split(",")[2:])  # two cells short, its label still last
    (tmp_path / "x.csv").write_text("\n".join(lines))
    result = run("compute", "-l", str(tmp_path / "x.csv"), "--target-column", "label")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "line 151" in result.stderr
