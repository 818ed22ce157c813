"""Blocks and threads give the same numbers as a plain reference, block boundaries or not."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ce_cli import blocks, cross_entropy
from ce_cli.blocks import chunks, file_mapping, rows_per_chunk, run_blocks, whole_pages
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


STREAM_SCRIPT = """
import resource, sys
import numpy as np
from ce_cli.io.sources import load
from ce_cli.validate import validate_inputs
from ce_cli.formulas import REGISTRY
from ce_cli.losses import evaluate
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


def test_the_file_mapping_is_found_through_views_and_only_there(tmp_path: Path) -> None:
    import mmap

    np.save(tmp_path / "x.npy", np.zeros((10, 3)))
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    assert isinstance(file_mapping(mapped), mmap.mmap)
    assert file_mapping(mapped.reshape(-1, 3)[2:5]) is file_mapping(mapped)
    assert file_mapping(np.ones((10, 3))) is None
    assert file_mapping(np.asarray(mapped) + 1.0) is None  # a copy in memory is not the file


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [(0, 4096, (0, 4096)), (1, 8192, (4096, 4096)), (100, 4000, (4096, 0)), (4096, 20_000, (4096, 12_288))],
)
def test_only_pages_wholly_inside_a_block_are_released(first: int, last: int, expected: tuple[int, int]) -> None:
    assert whole_pages(first, last, page=4096) == expected


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
    from ce_cli.formulas import REGISTRY
    from ce_cli.losses import evaluate
    from ce_cli.validate import validate_inputs

    rng = np.random.default_rng(classes)
    x = rng.integers(-2, 3, (3000, classes)).astype(np.float64)  # many ties
    for value in (np.nan, np.inf, -np.inf):
        x[rng.random(x.shape) < 0.05] = value
    x[5] = -np.inf
    x[6] = np.nan
    losses = evaluate(validate_inputs(x, np.zeros(3000, dtype=int)), REGISTRY["cross_entropy"], predictions=True)
    assert losses.predicted is not None
    np.testing.assert_array_equal(losses.predicted, np.argmax(x, axis=1))
