"""Before and after: the kernel, ``compute`` and start-up of another revision against this checkout, in one run.

Usage (from the repository, with ce-loss's dependencies installed):

    python benchmarks/ab.py REV            # e.g. python benchmarks/ab.py main~3
    python benchmarks/ab.py REV --rounds 10

REV is exported with ``git archive`` into a temporary folder; each measurement
runs in a fresh process with ``PYTHONPATH`` set to one tree or the other,
alternating which goes first, and the best time of each side is kept. Only the
public interfaces are used (``ce_cli.cross_entropy`` and ``python -m ce_cli
compute``), so any two revisions compare. A ratio above 1 means this checkout
is slower. Timings vary with the machine's load: compare the two sides of one
run, not runs with each other.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
KERNEL_SHAPES = [(1_000_000, 2), (1_000_000, 10), (100_000, 1000), (2000, 50_000)]

KERNEL = r"""
import sys, time, numpy as np
from ce_cli import cross_entropy
x, t = np.load(sys.argv[1]), np.load(sys.argv[2])
best = float("inf")
for _ in range(7):
    start = time.perf_counter()
    cross_entropy(x, t, reduction="none")
    best = min(best, time.perf_counter() - start)
print(best)
"""


def _export(revision: str, folder: Path) -> Path:
    """``revision``'s tree, written into ``folder``."""
    archive = subprocess.run(["git", "archive", revision], cwd=ROOT, capture_output=True, check=True).stdout
    with tempfile.TemporaryFile() as buffer:
        buffer.write(archive)
        buffer.seek(0)
        with tarfile.open(fileobj=buffer) as tar:
            tar.extractall(folder, filter="data")
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(folder / "ce_cli")], check=True)
    return folder


def _seconds(tree: Path, command: list[str], repeat: int, printed: bool) -> float:
    """The best of ``repeat`` runs of ``command`` with ``tree`` on the path: its wall time, or the time it prints."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        out = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        best = min(best, float(out.stdout) if printed else time.perf_counter() - start)
    return best


def _compare(
    label: str, trees: dict[str, Path], command: list[str], rounds: int, *, repeat: int = 1, printed: bool = False
) -> None:
    """Measure ``command`` on both trees, alternating which goes first, and print the best of each."""
    times: dict[str, list[float]] = {name: [] for name in trees}
    for number in range(rounds):
        order = list(trees) if number % 2 == 0 else list(reversed(trees))
        for name in order:
            times[name].append(_seconds(trees[name], command, repeat, printed))
    before, after = min(times["before"]), min(times["after"])
    print(
        f"{label:<44} before {before * 1e3:8.1f} ms   after {after * 1e3:8.1f} ms   after/before {after / before:5.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("revision", help="the revision to compare this checkout with (before)")
    parser.add_argument("--rounds", type=int, default=6, help="alternating rounds per measurement (default 6)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        trees = {"before": _export(args.revision, base / "before"), "after": ROOT}
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "ce_cli")], check=True)
        rng = np.random.default_rng(0)
        print(f"# {args.revision} (before) against {ROOT} (after), {args.rounds} rounds, best times")
        for rows, classes in KERNEL_SHAPES:
            logits, targets = base / f"x{rows}_{classes}.npy", base / f"t{rows}_{classes}.npy"
            np.save(logits, rng.standard_normal((rows, classes), dtype=np.float32))
            np.save(targets, rng.integers(0, classes, rows))
            kernel = [sys.executable, "-c", KERNEL, str(logits), str(targets)]
            _compare(f"kernel cross_entropy ({rows:,}, {classes:,})", trees, kernel, args.rounds, printed=True)
            if classes <= 10:
                compute = [sys.executable, "-m", "ce_cli", "compute", "-l", str(logits), "-t", str(targets), "-q"]
                _compare(f"compute -q ({rows:,}, {classes:,}) .npy", trees, compute, args.rounds, repeat=3)
        example = ["-l", str(ROOT / "examples/worked_logits.csv"), "-t", str(ROOT / "examples/worked_targets.csv")]
        startup = [sys.executable, "-m", "ce_cli", "compute", *example]
        _compare("start-up: compute on the worked example", trees, startup, args.rounds, repeat=10)


if __name__ == "__main__":
    main()
