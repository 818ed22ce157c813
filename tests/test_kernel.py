"""The chunked, threaded kernel gives the same numbers as a plain reference, block boundaries or not."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ce_cli import cross_entropy, kernel
from ce_cli.kernel import chunks, release_pages, rows_per_chunk, run_blocks
from ce_cli.shifted import SMALL_C


def reference(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(m - x[t]) + log1p(sum of exp(x_j - m) over all but one maximum), in math.fsum, row by row.

    Pure Python, independent of the kernel, and accurate for small losses too.
    """
    import math

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
    monkeypatch.setattr(kernel, "CHUNK_BYTES", 1 << 17)  # small blocks: many boundaries, both threads busy
    rng = np.random.default_rng(rows)
    x = (rng.standard_normal((rows, classes)) * 4).astype(dtype)
    t = rng.integers(0, classes, rows)
    assert rows > rows_per_chunk(classes) or classes > 10_000  # really several blocks
    check = rng.choice(rows, size=min(rows, 300), replace=False)
    losses = cross_entropy(x, t, reduction="none")
    np.testing.assert_allclose(losses[check], reference(x[check], t[check]), rtol=1e-12)
    for formula in ("log_softmax_nll", "naive"):
        other = cross_entropy(np.abs(x) if formula == "naive" else x, t, reduction="none", formula=formula)  # type: ignore[arg-type]
        assert other.shape == (rows,)
    np.testing.assert_allclose(
        cross_entropy(x, t, reduction="none", formula="log_softmax_nll"), losses, rtol=1e-13, atol=1e-13
    )


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
from ce_cli.sources import load
from ce_cli.validate import prepare
from ce_cli.formulas import evaluate
logits = load(sys.argv[1], "logits").array
targets = np.zeros(logits.shape[0], dtype=np.int64)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
result = evaluate(prepare(logits, targets))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(after - before, float(result.losses.sum()))
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
    growth_kib, total = int(out[0]), float(out[1])
    assert growth_kib < 60_000  # well under the 195 MiB file: its pages are released block by block
    assert total == pytest.approx(rows * np.log(classes), rel=1e-12)


def test_release_pages_leaves_ordinary_arrays_alone() -> None:
    x = np.ones((10, 3))
    release_pages(x, 0, 10)
    assert x.sum() == 30


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
