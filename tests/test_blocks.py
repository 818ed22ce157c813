"""Blocks and threads give the same numbers as a plain reference, block boundaries or not."""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ce_cli import blocks, cross_entropy
from ce_cli.blocks import chunks, rows_per_chunk, run_blocks
from ce_cli.log_sum_exp import SMALL_C


def reference(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(m - x[t]) + log1p(sum of exp(x_j - m) over all but one maximum), in math.fsum, row by row.

    Pure Python, independent of the blocks, and accurate for small losses too.
    """
    out = []
    for row, target in zip(np.asarray(x, dtype=np.float64).tolist(), t.tolist(), strict=True):
        m = max(row)
        others = list(row)
        others.remove(m)
        out.append((m - row[target]) + math.log1p(math.fsum(math.exp(v - m) for v in others)))
    return np.array(out)


@pytest.mark.parametrize(("rows", "classes"), [(70_001, 2), (20_003, SMALL_C), (9_001, SMALL_C + 1), (37, 20_000)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_many_blocks_match_the_reference(rows: int, classes: int, dtype: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blocks, "CHUNK_BYTES", 1 << 17)  # small blocks: many boundaries, both threads busy
    rng = np.random.default_rng(rows)
    x = (rng.standard_normal((rows, classes)) * 4).astype(dtype)
    t = rng.integers(0, classes, rows)
    assert rows > rows_per_chunk(classes) or classes > 10_000  # really several blocks
    check = rng.choice(rows, size=min(rows, 300), replace=False)
    losses = cross_entropy(x, t, reduction="none")
    np.testing.assert_allclose(losses[check], reference(x[check], t[check]), rtol=1e-12)
    np.testing.assert_allclose(
        cross_entropy(x, t, reduction="none", formula="log_softmax_nll"), losses, rtol=1e-13, atol=1e-13
    )
    q = np.abs(x) + 1e-3  # naive takes the values as probabilities: -log q[t], in math.log
    naive = cross_entropy(q, t, reduction="none", formula="naive")
    expected = [-math.log(float(q[i, t[i]])) for i in check]
    np.testing.assert_allclose(naive[check], expected, rtol=1e-15, atol=0)


def test_confident_rows_keep_their_tiny_losses_in_both_layouts() -> None:
    for classes in (3, SMALL_C + 5):
        x = np.zeros((5, classes))
        x[:, 0] = [40.0, 60.0, 200.0, 700.0, 1e4]
        losses = cross_entropy(x, np.zeros(5, dtype=int), reduction="none")
        expected = np.log1p((classes - 1) * np.exp(-x[:, 0]))
        np.testing.assert_allclose(losses, expected, rtol=1e-14)
        assert losses[2] > 0


def test_chunks_cover_every_row_once() -> None:
    assert chunks(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert chunks(0, 4) == []
    seen = [i for start, stop in chunks(1000, 7) for i in range(start, stop)]
    assert seen == list(range(1000))


def test_results_come_back_in_row_order_with_progress() -> None:
    rows = np.zeros((50_000, 4))
    done: list[int] = []
    starts = [start for start, _ in run_blocks(rows, lambda a, b: (a, b), threads=2, progress=done.append)]
    assert starts == sorted(starts)
    assert done[-1] == 50_000
    assert done == sorted(done)


def test_the_kernel_takes_larger_blocks_of_rows_in_memory_than_of_rows_read_from_a_file(tmp_path: Path) -> None:
    """Rows in memory: fewer, larger blocks (less of each block's own cost); rows read from a file as their
    blocks come keep the smaller blocks, whose size bounds the reader's memory."""
    from ce_cli.families.softmax.inputs import validate_inputs
    from ce_cli.io.sources import load

    np.save(tmp_path / "x.npy", np.zeros((10, 3), dtype=np.float32))
    from_file = validate_inputs(load(str(tmp_path / "x.npy"), "logits").array, np.zeros(10, dtype=np.int64))
    assert not isinstance(from_file.rows, np.ndarray)
    assert blocks.native_chunk_bytes(from_file.rows) == blocks.NATIVE_CHUNK_BYTES
    assert blocks.native_chunk_bytes(np.zeros((10, 3), dtype=np.float32)) == blocks.IN_MEMORY_CHUNK_BYTES
    assert blocks.IN_MEMORY_CHUNK_BYTES > blocks.NATIVE_CHUNK_BYTES


STREAM_SCRIPT = """
import resource, sys
import numpy as np
from ce_cli.io.sources import load
from ce_cli.families.softmax.inputs import validate_inputs
from ce_cli.formulas import REGISTRY
from ce_cli.families.softmax.losses import evaluate
logits = load(sys.argv[1], "logits").array
targets = np.zeros(logits.shape[0], dtype=np.int64)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
result = evaluate(validate_inputs(logits, targets), REGISTRY["cross_entropy"], predictions=True)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(after - before, float(result.per_sample.sum()), int(result.predicted.max()))
"""


def test_a_memory_mapped_npy_streams_in_bounded_memory(tmp_path: Path) -> None:
    import subprocess
    import sys

    rows, classes = 50_000, 1_000  # 200 MB of float32
    mapped = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float32, shape=(rows, classes))
    for start in range(0, rows, 5_000):
        mapped[start : start + 5_000] = 0.5
    mapped.flush()
    del mapped
    out = subprocess.run(
        [sys.executable, "-c", STREAM_SCRIPT, str(tmp_path / "x.npy")], capture_output=True, text=True, check=True
    ).stdout.split()
    growth_kib, total, predicted = int(out[0]), float(out[1]), int(out[2])
    assert growth_kib < 60_000  # well under the 195 MiB file: its pages are released block by block
    assert total == pytest.approx(rows * np.log(classes), rel=1e-12)
    assert predicted == 0  # every row is a tie: the first class, found in the same pass


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal_and_only_after_its_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    from ce_cli.progress import ProgressBar

    plain = io.StringIO()
    with ProgressBar(100, plain) as bar:
        bar.update(50)
    assert plain.getvalue() == ""

    terminal = _Terminal()
    with ProgressBar(100, terminal) as bar:
        bar.update(50)  # before the delay: nothing drawn
    assert terminal.getvalue() == ""

    monkeypatch.setattr(ProgressBar, "DELAY", 0.0)
    terminal = _Terminal()
    with ProgressBar(100, terminal) as bar:
        bar.update(50)
    assert "50/100 rows" in terminal.getvalue()

    quiet = _Terminal()
    with ProgressBar(100, quiet, enabled=False) as bar:
        bar.update(50)
    assert quiet.getvalue() == ""


@pytest.mark.parametrize("classes", [1, 2, SMALL_C, SMALL_C + 1, 40])
def test_the_predicted_class_is_numpys_argmax_with_ties_nan_and_infinities(classes: int) -> None:
    from ce_cli.families.softmax.inputs import validate_inputs
    from ce_cli.families.softmax.losses import evaluate
    from ce_cli.formulas import REGISTRY

    rng = np.random.default_rng(classes)
    x = rng.integers(-2, 3, (3000, classes)).astype(np.float64)  # many ties
    for value in (np.nan, np.inf, -np.inf):
        x[rng.random(x.shape) < 0.05] = value
    x[5] = -np.inf
    x[6] = np.nan
    losses = evaluate(validate_inputs(x, np.zeros(3000, dtype=int)), REGISTRY["cross_entropy"], predictions=True)
    assert losses.predicted is not None
    np.testing.assert_array_equal(losses.predicted, np.argmax(x, axis=1))


LAYOUT_SCRIPT = """
import resource, sys
import numpy as np
from ce_cli.io.sources import load
from ce_cli.families.softmax.inputs import validate_inputs
from ce_cli.formulas import REGISTRY
from ce_cli.families.softmax.losses import evaluate
logits = load(sys.argv[1], "logits").array
axis = int(sys.argv[2])
shape = list(logits.shape)
del shape[axis]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
result = evaluate(validate_inputs(logits, np.zeros(shape, dtype=np.int64), class_axis=axis), REGISTRY["cross_entropy"])
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(after - before, float(result.per_sample.sum()))
"""


@pytest.mark.parametrize(
    ("shape", "axis", "order"),
    [((500, 100, 400), 1, "C"), ((400, 250, 200), -1, "C"), ((50_000, 400), 1, "F")],
    ids=["(N, C, d) as PyTorch lays it out", "(batch, time, vocab)", "Fortran order"],
)
def test_every_layout_of_a_npy_file_streams_in_bounded_memory(
    shape: tuple[int, ...], axis: int, order: str, tmp_path: Path
) -> None:
    import subprocess
    import sys

    mapped = np.lib.format.open_memmap(
        tmp_path / "x.npy", mode="w+", dtype=np.float32, shape=shape, fortran_order=order == "F"
    )
    mapped[...] = 0.25
    mapped.flush()
    size_kib = mapped.nbytes // 1024
    del mapped
    out = subprocess.run(
        [sys.executable, "-c", LAYOUT_SCRIPT, str(tmp_path / "x.npy"), str(axis)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    growth_kib, total = int(out[0]), float(out[1])
    assert size_kib > 70_000
    assert growth_kib < 40_000  # well under the file: only a block at a time is read
    classes = shape[axis]
    assert total == pytest.approx(np.prod(shape) / classes * np.log(classes), rel=1e-12)


def test_a_file_truncated_while_it_is_read_is_an_error_not_a_crash(tmp_path: Path) -> None:
    from ce_cli.errors import InputError
    from ce_cli.families.softmax.inputs import validate_inputs
    from ce_cli.families.softmax.losses import evaluate
    from ce_cli.formulas import REGISTRY
    from ce_cli.io.sources import load

    path = tmp_path / "x.npy"
    np.save(path, np.ones((100_000, 8)))
    inputs = validate_inputs(load(str(path), "logits").array, np.zeros(100_000, dtype=int))
    os.truncate(path, path.stat().st_size // 2)  # another process cuts the file after its header was checked
    with pytest.raises(InputError, match=r"^logits file '.*x\.npy' changed while it was read: it ends before its"):
        evaluate(inputs, REGISTRY["cross_entropy"])


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("shape", [(7, 3), (2, 3, 4)])
def test_rows_read_block_by_block_are_the_rows_of_the_array(
    shape: tuple[int, ...], order: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ce_cli.families.softmax.inputs import validate_inputs
    from ce_cli.io.sources import load

    array = np.asarray(np.arange(np.prod(shape), dtype=np.float64).reshape(shape), order=order)  # type: ignore[call-overload]
    np.save(tmp_path / "x.npy", array)
    targets = np.zeros(shape[:1] + shape[2:], dtype=int)
    rows = validate_inputs(load(str(tmp_path / "x.npy"), "logits").array, targets).rows
    expected = np.moveaxis(array, 1, -1).reshape(-1, shape[1])
    np.testing.assert_array_equal(rows[0 : rows.shape[0]], expected)
    np.testing.assert_array_equal(rows[1:4], expected[1:4])
    np.testing.assert_array_equal(rows[5], expected[5])
