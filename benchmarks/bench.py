"""Speed and memory of ce-loss, each figure beside a baseline measured in the same run.

Usage (from the repository, with ce-loss installed):

    python benchmarks/bench.py                 # every benchmark
    python benchmarks/bench.py kernel startup  # some of them: kernel, binary, stream, startup, csv, narrow

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
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def best_of(function: Callable[[], Any], runs: int = 5) -> float:
    """The fastest of ``runs`` calls, in seconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def best_of_each(functions: list[Callable[[], Any]], runs: int = 5) -> list[float]:
    """The fastest of ``runs`` calls of each function, in seconds, the calls taken in turn (one of each,
    then again), so that a change in the machine's load falls on all of them alike."""
    best = [float("inf")] * len(functions)
    for _ in range(runs):
        for k, function in enumerate(functions):
            start = time.perf_counter()
            function()
            best[k] = min(best[k], time.perf_counter() - start)
    return best


def torch_or_none() -> Any:
    try:
        import torch
    except ImportError:
        return None
    return torch


def line(name: str, ours: float, baseline: float, baseline_name: str, goal: str) -> None:
    ratio = baseline / ours
    figures = f"ce-loss {ours * 1e3:8.1f} ms  {baseline_name} {baseline * 1e3:8.1f} ms  ratio {ratio:5.2f}"
    print(f"{name:<40} {figures}   {goal}", flush=True)


AVX2_ONLY = "CE_LOSS_BENCH_AVX2"  # set in the child that times AVX2 against torch restricted to AVX2
# goals (ratio = torch / ce-loss) per shape: on an AVX-512 CPU, and for AVX2 (an AVX2-only CPU, or the
# AVX2 variant against torch's AVX2 kernels on an AVX-512 CPU)
KERNEL_GOALS = {
    (1_000_000, 2): (2.5, 5.0),
    (1_000_000, 10): (2.5, 2.0),
    (100_000, 1000): (2.5, 1.5),
    (2000, 50_000): (2.5, 1.5),
}
BINARY_GOALS = {(1_000_000,): (1.0, 1.0), (1_000_000, 10): (2.0, 2.0)}


def kernels() -> list[str]:
    """The kernels timed in this process: the best CPU variant and numpy; in the AVX2 child, AVX2 alone."""
    from ce_cli.native import runnable_variants

    if os.environ.get(AVX2_ONLY):
        return ["native-avx2"]
    variants = runnable_variants()
    return [*([f"native-{variants[-1]}"] if variants else []), "numpy"]


def avx2_child(benchmark: str) -> None:
    """On an AVX-512 CPU, time the AVX2 variant against torch restricted to its AVX2 kernels
    (``ATEN_CPU_CAPABILITY=avx2``, read when torch starts: hence a child process)."""
    from ce_cli.native import runnable_variants

    variants = runnable_variants()
    if os.environ.get(AVX2_ONLY) or not variants or variants[-1] != "avx512" or "avx2" not in variants:
        return
    env = {**os.environ, AVX2_ONLY: "1", "ATEN_CPU_CAPABILITY": "avx2"}
    out = subprocess.run([sys.executable, __file__, benchmark], env=env, capture_output=True, text=True, check=True)
    print("# the AVX2 variant against torch with ATEN_CPU_CAPABILITY=avx2, in a child process:")
    print("\n".join(ln for ln in out.stdout.splitlines() if "native-avx2" in ln), flush=True)


def kernel_lines(
    name: str,
    run: Callable[[], Any],
    theirs: float,
    reference: Any,
    compared: Any,
    goals: tuple[float, float],
) -> None:
    """A line per kernel (:func:`kernels`): ``run``'s best time against torch's ``theirs``, and its largest
    relative difference from torch's float64 ``reference`` where ``compared``; ``goals`` for AVX-512 and AVX2."""
    for kernel in kernels():
        os.environ["CE_LOSS_KERNEL"] = kernel
        ours = best_of(run, runs=9)
        difference = np.abs(run() - reference)[compared] / np.abs(reference)[compared]
        avx512 = kernel == "native-avx512"
        goal = (goals[0] if avx512 else goals[1]) if kernel.startswith("native") else 0.0
        note = f"goal >= {goal}; " if goal else ""
        line(
            f"{name} {kernel}", ours, theirs, "torch", f"{note}rel. error vs torch f64 {float(np.max(difference)):.0e}"
        )
    del os.environ["CE_LOSS_KERNEL"]


def bench_kernel() -> None:
    """ce_cli.cross_entropy(reduction="none") on float32 against torch's, per kernel, and its float64 accuracy."""
    from ce_cli import cross_entropy

    torch = torch_or_none()
    print("\n# kernel: cross_entropy(x, t, reduction='none') on float32 (ratio = torch / ce-loss)")
    if torch is None:
        print("skipped: torch is not installed")
        return
    import torch.nn.functional as functional

    torch.set_num_threads(os.cpu_count() or 1)
    capability = torch.backends.cpu.get_cpu_capability()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU capability {capability}")
    rng = np.random.default_rng(0)
    for (rows, classes), goals in KERNEL_GOALS.items():
        x = rng.standard_normal((rows, classes), dtype=np.float32)
        t = rng.integers(0, classes, rows)
        xt, tt = torch.from_numpy(x), torch.from_numpy(t)
        theirs = best_of(lambda: functional.cross_entropy(xt, tt, reduction="none"), runs=9)  # noqa: B023
        reference = functional.cross_entropy(xt.double(), tt, reduction="none").numpy()
        run = lambda: cross_entropy(x, t, reduction="none")  # noqa: B023, E731
        kernel_lines(f"({rows:,}, {classes:,})", run, theirs, reference, np.ones(reference.shape, bool), goals)
    avx2_child("kernel")


def bench_binary() -> None:
    """ce_cli.binary_cross_entropy_with_logits(reduction="none") on float32 against torch's, per kernel."""
    from ce_cli import binary_cross_entropy_with_logits

    torch = torch_or_none()
    print("\n# binary: binary_cross_entropy_with_logits(x, t, reduction='none') on float32 (ratio = torch / ce-loss)")
    if torch is None:
        print("skipped: torch is not installed")
        return
    import torch.nn.functional as functional

    torch.set_num_threads(os.cpu_count() or 1)
    rng = np.random.default_rng(3)
    for shape, goals in BINARY_GOALS.items():
        x = rng.standard_normal(shape, dtype=np.float32) * 3
        t = (rng.random(shape) < 0.3).astype(np.float32)
        xt, tt = torch.from_numpy(x), torch.from_numpy(t)
        theirs = best_of(lambda: functional.binary_cross_entropy_with_logits(xt, tt, reduction="none"), runs=9)  # noqa: B023
        reference = functional.binary_cross_entropy_with_logits(xt.double(), tt.double(), reduction="none").numpy()
        run = lambda: binary_cross_entropy_with_logits(x, t, reduction="none")  # noqa: B023, E731
        # torch's own float64 arrangement loses relative accuracy on tiny losses (a confident correct
        # logit): compare where the loss is above 1e-6 (ce-loss keeps the tiny ones, tests/test_binary.py)
        kernel_lines(f"{shape}", run, theirs, reference, np.abs(reference) > 1e-6, goals)
    avx2_child("binary")


def bench_distill(rows: int = 100_000, classes: int = 1000, temperature: float = 2.0) -> None:
    """ce_cli.distillation_loss (forward KL at T = 2, the mean) on float32 against torch's KD loss, per kernel."""
    from ce_cli import distillation_loss

    torch = torch_or_none()
    print(
        f"\n# distillation: the KD loss at T = {temperature:g} on ({rows:,}, {classes:,}) float32 "
        "(ratio = torch / ce-loss)"
    )
    if torch is None:
        print("skipped: torch is not installed")
        return
    import torch.nn.functional as functional

    torch.set_num_threads(os.cpu_count() or 1)
    rng = np.random.default_rng(4)
    s = rng.standard_normal((rows, classes), dtype=np.float32) * 3
    t = s + rng.standard_normal((rows, classes), dtype=np.float32)
    st, tt = torch.from_numpy(s), torch.from_numpy(t)

    def kd(a: Any, b: Any) -> Any:
        log_p = functional.log_softmax(a / temperature, dim=1)
        return (
            functional.kl_div(log_p, functional.softmax(b / temperature, dim=1), reduction="batchmean") * temperature**2
        )

    theirs = best_of(lambda: kd(st, tt).item(), runs=5)
    reference = kd(st.double(), tt.double()).item()
    for kernel in kernels():
        os.environ["CE_LOSS_KERNEL"] = kernel
        ours = best_of(lambda: distillation_loss(s, t, temperature=temperature), runs=5)
        error = abs(float(distillation_loss(s, t, temperature=temperature)) / reference - 1)
        goal = "goal >= 1.5" if kernel.startswith("native") else "the numpy path"
        line(f"(1e5, 1000) {kernel}", ours, theirs, "torch", f"{goal}; rel. error vs torch f64 {error:.0e}")
    del os.environ["CE_LOSS_KERNEL"]
    avx2_child("distill")


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


def best_measures(commands: list[list[str]], runs: int = 3) -> list[tuple[float, float]]:
    """:func:`_measure`'s fastest of ``runs`` for each command, the commands run in turn (one of each, then
    again), so that a change in the machine's load falls on all of them alike."""
    best: list[tuple[float, float]] = [(float("inf"), 0.0)] * len(commands)
    for _ in range(runs):
        for k, command in enumerate(commands):
            best[k] = min(best[k], _measure(command), key=lambda m: m[0])
    return best


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


def kernel_name() -> str:
    """The kernel a ce-loss process started from here runs (``native (avx512)``, ``numpy``)."""
    from ce_cli.native import active

    return active().describe()


def bench_stream(rows: int = 500_000, classes: int = 1000) -> None:
    """ce-loss compute on a 2 GB float32 .npy: time and peak memory against reading it, and against torch."""
    print(f"\n# out of core: ce-loss compute on a ({rows:,}, {classes:,}) float32 .npy, kernel {kernel_name()}")
    with tempfile.TemporaryDirectory() as folder:
        logits, targets = Path(folder) / "big.npy", Path(folder) / "t.npy"
        mapped = np.lib.format.open_memmap(logits, mode="w+", dtype=np.float32, shape=(rows, classes))
        rng = np.random.default_rng(1)
        for start in range(0, rows, 20_000):
            mapped[start : start + 20_000] = rng.standard_normal((min(20_000, rows - start), classes), np.float32)
        mapped.flush()
        del mapped
        np.save(targets, rng.integers(0, classes, rows))
        print(f"file: {logits.stat().st_size / 2**30:.2f} GiB (best of 3, page cache warm)")
        ours_cmd = [sys.executable, "-m", "ce_cli", "compute", "-l", str(logits), "-t", str(targets), "-q"]
        _measure(ours_cmd)  # warm the page cache
        ours, read = best_measures([ours_cmd, [sys.executable, "-c", NUMPY_READ, str(logits)]])
        print(f"{'peak resident memory':<40} ce-loss {ours[1]:8.0f} MiB   goal <= 300 MB")
        avx512 = kernel_name() == "native (avx512)"
        goal = "goal >= 0.5 (at most 2x, AVX-512)" if avx512 else "goal >= 0.33 (at most 3x, AVX2)"
        line("vs numpy reading it once (mmap)", ours[0], read[0], "numpy", goal)
        if torch_or_none() is None:
            print("torch script: skipped (torch is not installed)")
            return
        torch_cmd = [sys.executable, "-c", TORCH_OBVIOUS, str(logits), str(targets)]
        obvious = min(_measure(torch_cmd) for _ in range(3))
        line(
            "vs np.load + torch (end to end)",
            ours[0],
            obvious[0],
            "torch",
            f"goal >= 4 (torch peak {obvious[1]:.0f} MiB)",
        )


def bench_diff(rows: int = 500_000, classes: int = 1000) -> None:
    """ce-loss diff on two 2 GB float32 .npy files: time against one compute on one of them, and peak memory."""
    print(f"\n# two models: ce-loss diff on two ({rows:,}, {classes:,}) float32 .npy files, kernel {kernel_name()}")
    with tempfile.TemporaryDirectory() as folder:
        paths = [Path(folder) / "new.npy", Path(folder) / "old.npy"]
        targets = Path(folder) / "t.npy"
        rng = np.random.default_rng(2)
        files = [np.lib.format.open_memmap(p, mode="w+", dtype=np.float32, shape=(rows, classes)) for p in paths]
        for start in range(0, rows, 20_000):
            block = rng.standard_normal((min(20_000, rows - start), classes), np.float32)
            files[1][start : start + 20_000] = block
            files[0][start : start + 20_000] = block + np.float32(0.1) * rng.standard_normal(block.shape, np.float32)
        for mapped in files:
            mapped.flush()
        del files
        np.save(targets, rng.integers(0, classes, rows))
        one = [sys.executable, "-m", "ce_cli", "compute", "-l", str(paths[0]), "-t", str(targets), "-q"]
        both = [sys.executable, "-m", "ce_cli", "diff", "-l", str(paths[0]), "--baseline", str(paths[1])]
        both += ["-t", str(targets), "-f", "json"]
        _measure(both)  # warm the page cache with both files
        ours, single = best_measures([both, one])
        print(f"{'peak resident memory, diff':<40} ce-loss {ours[1]:8.0f} MiB   goal < 500 MB")
        line(
            "diff vs one compute (ratio = compute / diff)", ours[0], single[0], "compute", "goal >= 0.4 (at most 2.5x)"
        )


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
    print(f"\n# start-up: the worked example as a table (best of {runs}; ratio = minimal app / ce-loss)")
    example = ["-l", str(ROOT / "examples/worked_logits.csv"), "-t", str(ROOT / "examples/worked_targets.csv")]
    # A regular install compiles the package; an editable one under PYTHONDONTWRITEBYTECODE=1 would
    # recompile every module on every run, which numpy, rich and typer (installed compiled) never pay.
    import ce_cli

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(ce_cli.__file__).parent)], check=True)

    def call(command: list[str]) -> Callable[[], Any]:
        return lambda: subprocess.run(command, capture_output=True, check=True)

    # the console script, as an installed user runs it (python -m would add runpy's own start-up)
    script = shutil.which("ce-loss", path=str(Path(sys.executable).parent)) or shutil.which("ce-loss")
    command = [script] if script else [sys.executable, "-m", "ce_cli"]
    with tempfile.TemporaryDirectory() as folder:
        app = Path(folder) / "minimal_app.py"
        app.write_text(MINIMAL_APP)
        subprocess.run([sys.executable, "-m", "compileall", "-q", folder], check=True)
        ours, minimal, bare = best_of_each(
            [
                call([*command, "compute", *example]),
                call([sys.executable, str(app), "--name", "y"]),
                call([sys.executable, "-c", "pass"]),
            ],
            runs,
        )
    line("ce-loss compute (table)", ours, minimal, "minimal", "goal >= 0.91 (at most 1.1x)")
    print(f"{'python -c pass':<34} {bare * 1e3:9.1f} ms")


NUMPY_LOADTXT = """
import sys, numpy as np
usecols = None if sys.argv[2] == "all" else range(int(sys.argv[2]), int(sys.argv[3]))
np.loadtxt(sys.argv[1], delimiter=",", skiprows=1, usecols=usecols)
"""


def write_csv(path: Path, size: int, classes: int, digits: int = 9, labelled: bool = False) -> int:
    """A CSV of about ``size`` bytes (a header, then one block of random rows written over and over); its rows.
    ``labelled``: an id column first and an integer label column last, the layout most CSVs of predictions have."""
    rng = np.random.default_rng(2)
    block = rng.standard_normal((20_000, classes))
    labels = rng.integers(0, classes, len(block)).tolist()
    rows = [",".join(f"{v:.{digits}g}" for v in row) for row in block.tolist()]
    if labelled:
        rows = [f"s{i},{row},{label}" for i, (row, label) in enumerate(zip(rows, labels, strict=True))]
    data = ("\n".join(rows) + "\n").encode()
    copies = max(1, size // len(data))
    names = [f"c{i}" for i in range(classes)]
    with open(path, "wb") as handle:
        handle.write((",".join(["id", *names, "label"] if labelled else names) + "\n").encode())
        for _ in range(copies):
            handle.write(data)
    return copies * len(block)


def bench_csv(size: int = 1 << 30, classes: int = 10) -> None:
    """ce-loss compute -q on a 1 GB CSV of logits (streamed), in the common layouts, against numpy.loadtxt
    reading the same numbers: the labels in another file; in a column (and an id column dropped); and
    with the ids named and class weights."""
    with tempfile.TemporaryDirectory() as folder:
        plain, labelled = Path(folder) / "x.csv", Path(folder) / "labelled.csv"
        targets, weight = Path(folder) / "t.npy", Path(folder) / "w.npy"
        rows = write_csv(plain, size, classes)
        write_csv(labelled, size, classes, labelled=True)
        np.save(targets, np.random.default_rng(3).integers(0, classes, rows))
        np.save(weight, np.linspace(0.5, 2.0, classes))
        gigabytes = plain.stat().st_size / 1e9
        print(f"\n# CSV: ce-loss compute -q on a {gigabytes:.2f} GB CSV ({rows:,} x {classes}), kernel {kernel_name()}")
        layouts = [
            ("labels in another file", plain, ["-t", str(targets)], ["all"]),
            ("labels in a column, ids dropped", labelled, ["--target-column", "label", "--drop-columns", "id"], None),
            (
                "+ --id-column id --weight",
                labelled,
                ["--target-column", "label", "--id-column", "id", "-w", str(weight)],
                None,
            ),
        ]
        for name, path, options, columns in layouts:
            command = [sys.executable, "-m", "ce_cli", "compute", "-l", str(path), *options, "-q", "--no-warnings"]
            ours = min((_measure(command) for _ in range(2)), key=lambda m: m[0])
            numbers = columns or ["1", str(classes + 2)]
            theirs = _measure([sys.executable, "-c", NUMPY_LOADTXT, str(path), *numbers])
            memory = f"ce-loss {ours[1]:8.0f} MiB   goal < 500 MiB (numpy.loadtxt: {theirs[1]:.0f} MiB)"
            print(f"{'peak resident memory, ' + name:<40} {memory}")
            line(f"vs numpy.loadtxt: {name}", ours[0], theirs[0], "loadtxt", "goal >= 2.5 (at most 0.4x)")


def bench_narrow(rows: int = 7_000_000) -> None:
    """Peak memory of a streamed CSV of narrow rows (7M x 2, about 75 MB): what reading text costs per row."""
    with tempfile.TemporaryDirectory() as folder:
        path, targets = Path(folder) / "x.csv", Path(folder) / "t.npy"
        written = write_csv(path, rows * 12, 2, digits=3)
        np.save(targets, np.random.default_rng(3).integers(0, 2, written))
        megabytes = path.stat().st_size / 1e6
        array = written * 16 >> 20
        kernel = kernel_name()
        print(f"\n# narrow CSV: {megabytes:.0f} MB ({written:,} x 2), kernel {kernel}, float64 array {array} MiB")
        for extra in (["-q"], []):
            seconds, peak = _measure(
                [sys.executable, "-m", "ce_cli", "compute", "-l", str(path), "-t", str(targets), *extra]
            )
            label, goal = (
                ("compute -q", "goal < 200 MiB") if extra else ("compute (table)", "its summary sorts every loss")
            )
            print(f"{'peak resident memory, ' + label:<40} ce-loss {peak:8.0f} MiB   {goal} ({seconds:.2f} s)")


BENCHMARKS = {
    "kernel": bench_kernel,
    "binary": bench_binary,
    "stream": bench_stream,
    "diff": bench_diff,
    "distill": bench_distill,
    "startup": bench_startup,
    "csv": bench_csv,
    "narrow": bench_narrow,
}


def cpu_flags() -> str:
    """The vector-unit flags of this CPU (Linux), as the kernel's dispatch reads them."""
    try:
        with open("/proc/cpuinfo") as handle:
            flags = next((ln.split(":", 1)[1].split() for ln in handle if ln.startswith("flags")), [])
    except OSError:
        return "unknown"
    wanted = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl")
    return " ".join(flag for flag in wanted if flag in flags) or "none of " + " ".join(wanted)


def cpu_model() -> str:
    """The CPU's model name (Linux), else the platform's word for it."""
    try:
        with open("/proc/cpuinfo") as handle:
            return next(ln.split(":", 1)[1].strip() for ln in handle if ln.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "which", nargs="*", metavar="NAME", help=f"benchmarks to run: {', '.join(BENCHMARKS)} (default: all)"
    )
    names = parser.parse_args().which or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; numpy {np.__version__}")
    print(f"CPU flags: {cpu_flags()}; ce-loss kernel: {kernel_name()}")
    for name in names:
        BENCHMARKS[name]()


if __name__ == "__main__":
    main()
