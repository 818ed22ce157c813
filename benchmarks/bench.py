"""Speed and memory of ce-loss, each figure beside a baseline measured in the same run.

Usage (from the repository, with ce-loss installed):

    python benchmarks/bench.py                 # every benchmark
    python benchmarks/bench.py kernel startup  # some of them: kernel, stream, startup, csv

PyTorch is used as a baseline where it is installed (``pip install torch==2.13.0``);
it is never a dependency of ce-loss. Every line prints ``ratio`` as baseline time
divided by ce-loss time (above 1: ce-loss is faster), except memory, printed in MiB.
Timings are the best of several runs; the machine's load matters, so compare
figures of one run with each other, not across runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHAPES = [(1_000_000, 2), (1_000_000, 10), (100_000, 1000), (2000, 50_000)]


def best_of(function: Callable[[], Any], runs: int = 5) -> float:
    """The fastest of ``runs`` calls, in seconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def torch_or_none() -> Any:
    try:
        import torch
    except ImportError:
        return None
    return torch


def line(name: str, ours: float, baseline: float, baseline_name: str, goal: str) -> None:
    ratio = baseline / ours
    figures = f"ce-loss {ours * 1e3:9.1f} ms   {baseline_name} {baseline * 1e3:9.1f} ms   ratio {ratio:5.2f}"
    print(f"{name:<34} {figures}   {goal}")


def bench_kernel() -> None:
    """ce_cli.cross_entropy(reduction="none") on float32 against torch's, and its float64 accuracy."""
    from ce_cli import cross_entropy

    torch = torch_or_none()
    print("\n# kernel: cross_entropy(x, t, reduction='none') on float32 (ratio = torch / ce-loss; goal >= 1.5)")
    if torch is None:
        print("skipped: torch is not installed")
        return
    import torch.nn.functional as functional

    torch.set_num_threads(os.cpu_count() or 1)
    rng = np.random.default_rng(0)
    for rows, classes in SHAPES:
        x = rng.standard_normal((rows, classes), dtype=np.float32)
        t = rng.integers(0, classes, rows)
        xt, tt = torch.from_numpy(x), torch.from_numpy(t)
        ours = best_of(lambda: cross_entropy(x, t, reduction="none"))  # noqa: B023
        theirs = best_of(lambda: functional.cross_entropy(xt, tt, reduction="none"))  # noqa: B023
        reference = functional.cross_entropy(xt.double(), tt, reduction="none").numpy()
        error = float(np.max(np.abs(cross_entropy(x, t, reduction="none") - reference) / np.abs(reference)))
        line(f"({rows:,}, {classes:,})", ours, theirs, "torch", f"max rel. error vs float64 {error:.1e} (goal 1e-9)")


def bench_binary() -> None:
    """ce_cli.binary_cross_entropy_with_logits(reduction="none") on float32 against torch's, and its accuracy."""
    from ce_cli import binary_cross_entropy_with_logits

    torch = torch_or_none()
    print("\n# binary: binary_cross_entropy_with_logits(x, t, reduction='none') on float32 (ratio = torch / ce-loss)")
    if torch is None:
        print("skipped: torch is not installed")
        return
    import torch.nn.functional as functional

    torch.set_num_threads(os.cpu_count() or 1)
    rng = np.random.default_rng(3)
    for shape in [(1_000_000,), (1_000_000, 10)]:
        x = rng.standard_normal(shape, dtype=np.float32) * 3
        t = (rng.random(shape) < 0.3).astype(np.float32)
        xt, tt = torch.from_numpy(x), torch.from_numpy(t)
        ours = best_of(lambda: binary_cross_entropy_with_logits(x, t, reduction="none"))  # noqa: B023
        theirs = best_of(lambda: functional.binary_cross_entropy_with_logits(xt, tt, reduction="none"))  # noqa: B023
        reference = functional.binary_cross_entropy_with_logits(xt.double(), tt.double(), reduction="none").numpy()
        mine = binary_cross_entropy_with_logits(x, t, reduction="none")
        # torch's own float64 arrangement loses relative accuracy on tiny losses (a confident correct logit):
        # compare where the loss is above 1e-6 (ce-loss keeps the tiny ones, see tests/test_binary.py)
        sizable = np.abs(reference) > 1e-6
        error = float(np.max(np.abs(mine - reference)[sizable] / np.abs(reference)[sizable]))
        line(f"{shape}", ours, theirs, "torch", f"max rel. error vs float64 {error:.1e} (losses > 1e-6)")


# Runs a command and prints its wall time, its own peak resident memory and its exit status. A fresh,
# small launcher: a child forked from this (large) process would count this process's memory as its own.
LAUNCHER = """
import os, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(time.perf_counter() - start, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def _measure(command: list[str]) -> tuple[float, float]:
    """``(seconds, peak resident MiB)`` of a command (``ru_maxrss`` of that process alone, in KiB on Linux)."""
    out = subprocess.run([sys.executable, "-c", LAUNCHER, *command], capture_output=True, text=True, check=True)
    seconds, peak_kib, status = out.stdout.split()
    if int(status) != 0:
        raise RuntimeError(f"{command[:4]} failed with status {status}: {out.stderr}")
    return float(seconds), int(peak_kib) / 1024


NUMPY_READ = """
import sys, numpy as np
x = np.load(sys.argv[1], mmap_mode="r")
for start in range(0, len(x), 4096):
    x[start:start + 4096].max(axis=1)
"""
TORCH_OBVIOUS = """
import sys, numpy as np, torch, torch.nn.functional as F
x = torch.from_numpy(np.load(sys.argv[1])); t = torch.from_numpy(np.load(sys.argv[2]))
print(F.cross_entropy(x, t).item())
"""


def bench_stream(rows: int = 500_000, classes: int = 1000) -> None:
    """ce-loss compute on a large .npy: time and peak memory against reading the file once."""
    print(f"\n# out of core: ce-loss compute on a ({rows:,}, {classes:,}) float32 .npy (best of 3)")
    with tempfile.TemporaryDirectory() as folder:
        logits, targets = Path(folder) / "big.npy", Path(folder) / "t.npy"
        mapped = np.lib.format.open_memmap(logits, mode="w+", dtype=np.float32, shape=(rows, classes))
        rng = np.random.default_rng(1)
        for start in range(0, rows, 20_000):
            mapped[start : start + 20_000] = rng.standard_normal((min(20_000, rows - start), classes), np.float32)
        mapped.flush()
        del mapped
        np.save(targets, rng.integers(0, classes, rows))
        print(f"file: {logits.stat().st_size / 2**30:.2f} GiB")
        ours_cmd = [sys.executable, "-m", "ce_cli", "compute", "-l", str(logits), "-t", str(targets), "-q"]
        _measure(ours_cmd)  # warm the page cache
        ours = min((_measure(ours_cmd) for _ in range(3)), key=lambda m: m[0])
        read = min((_measure([sys.executable, "-c", NUMPY_READ, str(logits)]) for _ in range(3)), key=lambda m: m[0])
        print(f"{'peak resident memory':<34} ce-loss {ours[1]:9.0f} MiB  (goal <= 300 MiB)")
        line("vs numpy reading it once (mmap)", ours[0], read[0], "numpy", "goal: ratio >= 0.33 (at most 3x)")
        if torch_or_none() is None:
            print("torch script: skipped (torch is not installed)")
            return
        torch_cmd = [sys.executable, "-c", TORCH_OBVIOUS, str(logits), str(targets)]
        obvious = min(_measure(torch_cmd) for _ in range(3))
        goal = f"goal >= 3 (torch peak {obvious[1]:.0f} MiB)"
        line("vs np.load + torch (end to end)", ours[0], obvious[0], "torch", goal)


MINIMAL_APP = """
import numpy, rich.console, rich.table, typer
app = typer.Typer()
@app.command()
def main(name: str = typer.Option("x")) -> None:
    rich.console.Console().print(rich.table.Table(name))
app()
"""


def bench_startup(runs: int = 15) -> None:
    """The worked example as a table against a minimal Typer app importing numpy and rich."""
    print(f"\n# start-up: the worked example as a table (best of {runs}; ratio = minimal app / ce-loss; goal >= 0.8)")
    example = ["-l", str(ROOT / "examples/worked_logits.csv"), "-t", str(ROOT / "examples/worked_targets.csv")]
    # A regular install compiles the package; an editable one under PYTHONDONTWRITEBYTECODE=1 would
    # recompile every module on every run, which numpy, rich and typer (installed compiled) never pay.
    import ce_cli

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(ce_cli.__file__).parent)], check=True)

    def run(command: list[str]) -> float:
        return best_of(lambda: subprocess.run(command, capture_output=True, check=True), runs)

    ours = run([sys.executable, "-m", "ce_cli", "compute", *example])
    minimal = run([sys.executable, "-c", MINIMAL_APP, "--name", "y"])
    line("ce-loss compute (table)", ours, minimal, "minimal", "ratio >= 0.8 means at most 1.25x")
    bare = run([sys.executable, "-c", "pass"])
    print(f"{'python -c pass':<34} {bare * 1e3:9.1f} ms")


def bench_csv(rows: int = 800_000, classes: int = 3) -> None:
    """Reading a numeric CSV with a header against numpy.loadtxt."""
    from ce_cli.io.sources import load

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.csv"
        values = np.random.default_rng(2).standard_normal((rows, classes))
        np.savetxt(path, values, delimiter=",", fmt="%.9g", header=",".join("abc"[:classes]), comments="")
        print(f"\n# CSV: a {path.stat().st_size / 1e6:.0f} MB numeric CSV (ratio = loadtxt / ce-loss; goal >= 1)")
        ours = best_of(lambda: load(str(path), "logits"), 3)
        theirs = best_of(lambda: np.loadtxt(path, delimiter=",", skiprows=1), 3)
        line("ce_cli.io.sources.load", ours, theirs, "loadtxt", "goal: ratio >= 1")


BENCHMARKS = {
    "kernel": bench_kernel,
    "binary": bench_binary,
    "stream": bench_stream,
    "startup": bench_startup,
    "csv": bench_csv,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "which", nargs="*", metavar="NAME", help=f"benchmarks to run: {', '.join(BENCHMARKS)} (default: all)"
    )
    names = parser.parse_args().which or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; numpy {np.__version__}")
    for name in names:
        BENCHMARKS[name]()


if __name__ == "__main__":
    main()
