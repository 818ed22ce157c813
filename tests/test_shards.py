"""Sharded inputs: a quoted glob of files scored as one input, exactly as their concatenation."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

import ce_cli.native as native
from tests.conftest import Run, warnings_in

KERNELS = ["numpy", "native"] if native.runnable_variants() else ["numpy"]
SIZES = [1000, 2500, 1, 700]


@pytest.fixture(params=KERNELS)
def kernel(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(native.ENVIRONMENT, request.param)
    return str(request.param)


def _shards(folder: Path, classes: int = 6, dtype: type = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Shards named so that name order is not the order of the numbers in them (10 before 2)."""
    rng = np.random.default_rng(0)
    xs, ts = [], []
    for number, rows in zip([1, 2, 10, 33], SIZES, strict=True):
        x: np.ndarray = (rng.standard_normal((rows, classes)) * 3).astype(dtype)
        t = rng.integers(0, classes, rows)
        np.save(folder / f"logits-{number}.npy", x)
        np.save(folder / f"targets-{number}.npy", t)
        xs.append((f"{number}", x))
        ts.append((f"{number}", t))
    order = sorted(range(len(xs)), key=lambda i: f"logits-{xs[i][0]}.npy")
    return np.concatenate([xs[i][1] for i in order]), np.concatenate([ts[i][1] for i in order])


def _results(stdout: str) -> dict[str, object]:
    """A JSON result without what says where it came from (``read``, ``ids``): the numbers alone."""
    out: dict[str, object] = json.loads(stdout)
    return {key: value for key, value in out.items() if key not in ("read", "ids")}


def _compute(run: Run, *args: str) -> dict[str, object]:
    result = run("compute", *args, "--format", "json", "--reduction", "none", "--top-k", "2", "--by-class")
    assert result.exit_code == 0, result.stderr
    assert warnings_in(result.stderr) == []
    return _results(result.stdout)


def test_shards_score_exactly_as_their_concatenation(kernel: str, run: Run, tmp_path: Path) -> None:
    x, t = _shards(tmp_path)
    np.save(tmp_path / "all-x.npy", x)
    np.save(tmp_path / "all-t.npy", t)
    sharded = _compute(run, "-l", str(tmp_path / "logits-*.npy"), "-t", str(tmp_path / "targets-*.npy"))
    whole = _compute(run, "-l", str(tmp_path / "all-x.npy"), "-t", str(tmp_path / "all-t.npy"))
    assert sharded == whole  # every digit, and the per-sample losses in shard order
    assert isinstance(sharded["losses"], list)
    assert len(sharded["losses"]) == sum(SIZES)
    ids = json.loads(
        run("compute", "-l", str(tmp_path / "logits-*.npy"), "-t", str(tmp_path / "targets-*.npy"), "-f", "json").stdout
    )["ids"]
    files = sorted(str(p) for p in tmp_path.glob("logits-*.npy"))
    counts = [np.load(f).shape[0] for f in files]
    assert ids == [f"{f}:{row}" for f, n in zip(files, counts, strict=True) for row in range(n)]


def test_text_shards_and_one_targets_file(kernel: str, run: Run, tmp_path: Path) -> None:
    x, t = _shards(tmp_path, dtype=np.float64)
    for path in sorted(tmp_path.glob("logits-*.npy")):
        part = np.load(path)
        lines = ["a,b,c,d,e,f"] + [",".join(repr(float(v)) for v in row) for row in part]
        path.with_suffix(".csv").write_text("\n".join(lines) + "\n")
    np.save(tmp_path / "all-x.npy", x)
    np.save(tmp_path / "all-t.npy", t)
    sharded = _compute(run, "-l", str(tmp_path / "logits-*.csv"), "-t", str(tmp_path / "all-t.npy"))
    whole = _compute(run, "-l", str(tmp_path / "all-x.npy"), "-t", str(tmp_path / "all-t.npy"))
    assert sharded == whole


def test_binary_shards(kernel: str, run: Run, tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    parts = [rng.standard_normal((n, 3)) for n in (40, 7, 90)]
    labels = [(rng.random(p.shape) < 0.5).astype(float) for p in parts]
    for i, (p, y) in enumerate(zip(parts, labels, strict=True)):
        np.save(tmp_path / f"x-{i}.npy", p)
        np.save(tmp_path / f"y-{i}.npy", y)
    np.save(tmp_path / "all-x.npy", np.concatenate(parts))
    np.save(tmp_path / "all-y.npy", np.concatenate(labels))
    args = ["--task", "binary", "--format", "json", "--reduction", "none"]
    sharded = run("compute", "-l", str(tmp_path / "x-*.npy"), "-t", str(tmp_path / "y-*.npy"), *args)
    whole = run("compute", "-l", str(tmp_path / "all-x.npy"), "-t", str(tmp_path / "all-y.npy"), *args)
    assert sharded.exit_code == 0, sharded.stderr
    assert _results(sharded.stdout) == _results(whole.stdout)
    names = json.loads(sharded.stdout)["ids"]
    assert names[40] == f"{tmp_path / 'x-1.npy'}:0"
    assert names[136] == f"{tmp_path / 'x-2.npy'}:89"


def test_a_pattern_that_matches_nothing(run: Run, tmp_path: Path) -> None:
    result = run("compute", "-l", str(tmp_path / "nothing-*.npy"), "-t", "0")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"ce-loss: error: logits pattern '{tmp_path}/nothing-*.npy' matches no file "
        "(quote it, so that ce-loss expands it)\n"
    )


def test_unequal_numbers_of_shards(run: Run, tmp_path: Path) -> None:
    _shards(tmp_path)
    (tmp_path / "targets-33.npy").unlink()
    result = run("compute", "-l", str(tmp_path / "logits-*.npy"), "-t", str(tmp_path / "targets-*.npy"))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "are 4 files but targets files" in result.stderr
    assert "are 3: shards are paired in name order" in result.stderr


def test_a_pair_of_unequal_lengths_is_named(run: Run, tmp_path: Path) -> None:
    _shards(tmp_path)
    np.save(tmp_path / "targets-2.npy", np.zeros(5, dtype=np.int64))
    result = run("compute", "-l", str(tmp_path / "logits-*.npy"), "-t", str(tmp_path / "targets-*.npy"))
    assert result.exit_code == 1
    assert f"logits file '{tmp_path}/logits-2.npy' holds 2500 samples but" in result.stderr
    assert f"targets file '{tmp_path}/targets-2.npy', its pair, holds 5" in result.stderr


def test_shards_of_different_widths(run: Run, tmp_path: Path) -> None:
    _shards(tmp_path)
    np.save(tmp_path / "logits-2.npy", np.zeros((2500, 4), dtype=np.float32))
    result = run("compute", "-l", str(tmp_path / "logits-*.npy"), "-t", str(tmp_path / "targets-*.npy"))
    assert result.exit_code == 1
    assert "has shape (2500, 4), but" in result.stderr
    assert "shards must agree on every axis but the first" in result.stderr


def test_a_glob_the_shell_expanded_gets_a_hint(run: Run, tmp_path: Path) -> None:
    result = run("compute", "-l", "logits-1.npy", "logits-2.npy", "-t", "targets-1.npy")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "not as positional arguments ('logits-2.npy')" in result.stderr
    assert "several shards as one input take a quoted glob" in result.stderr


def test_text_and_npy_shards_together_stream_in_blocks(tmp_path: Path) -> None:
    from ce_cli.io import sources, text_stream
    from ce_cli.io.sources import load

    rng = np.random.default_rng(8)
    first, second = rng.standard_normal((300, 4)), rng.standard_normal((50, 4))
    lines = ["a,b,c,d"] + [",".join(repr(float(v)) for v in row) for row in first]
    (tmp_path / "part-0.csv").write_text("\n".join(lines) + "\n")
    np.save(tmp_path / "part-1.npy", second)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(text_stream, "STREAM_TEXT_BYTES", 0)
        patch.setattr(text_stream, "CHUNK_TEXT_BYTES", 500)
        patch.setattr(sources, "_HEAD_BYTES", 256)
        shards = load(str(tmp_path / "part-*"), "logits").array
        bounds = shards.block_bounds()  # type: ignore[union-attr]
    assert bounds[0][0] == 0
    assert bounds[-1] == (300, 350)
    assert all(a < b for a, b in bounds)
    assert all(b == c for (_, b), (c, _) in itertools.pairwise(bounds))
    np.testing.assert_array_equal(np.asarray(shards), np.concatenate([first, second]))
