"""Hardening, round three: every failure one clear line with its status, checks on the files actually read
and written, and every promise about output kept (narrow terminals, ASCII streams, closed pipes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ce_cli
from ce_cli.errors import InputError, OptionError
from tests.conftest import EXAMPLES, Run, assert_close, mp_loss

CE_LOSS = [sys.executable, "-m", "ce_cli"]
WORKED = ["-l", str(EXAMPLES / "worked_logits.npy"), "-t", str(EXAMPLES / "worked_targets.npy"), "--no-warnings"]


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CE_LOSS, *args], capture_output=True, text=True, env={**os.environ, **(env or {})})


# -- 1. one boundary ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: ce_cli.cross_entropy([[1, 2], [3]], [0, 1]), InputError, "logits must be a nested list of numbers"),
        (
            lambda: ce_cli.cross_entropy([[1, 2], [3, 4]], [0, 1], weight=[[1], [1, 2]]),
            InputError,
            "weight must be a nested list of numbers",
        ),
        (
            lambda: ce_cli.binary_cross_entropy_with_logits([1.0], [1.0], pos_weight=["a"]),
            InputError,
            "pos_weight must hold real numbers, not strings",
        ),
        (
            lambda: ce_cli.cross_entropy([[0.5, 0.5]], [0], formula="naive", eps="foo"),
            OptionError,
            "eps must be a number in [0, 0.5) or 'auto', not 'foo'",
        ),
        # PyTorch: F.cross_entropy(x, t, ignore_index=1.5) raises TypeError "argument 'ignore_index' must be int".
        (
            lambda: ce_cli.cross_entropy([[1, 2]], [0], ignore_index=1.5),  # type: ignore[call-overload]
            TypeError,
            "ignore_index must be an int",
        ),
        (
            lambda: ce_cli.binary_cross_entropy_with_logits([1.0], [1 + 1j]),
            InputError,
            "targets must hold real numbers, not complex numbers",
        ),
        (lambda: ce_cli.cross_entropy([[1, 2]], [0], ignore_index=2**63), OptionError, "beyond int64"),
        (
            lambda: ce_cli.cross_entropy([[1, 2]], [0], label_smoothing="x"),  # type: ignore[call-overload]
            TypeError,
            "label_smoothing must be",
        ),
    ],
)
def test_the_api_raises_its_own_errors_or_pytorchs_type_error(call: object, error: type, message: str) -> None:
    with pytest.raises(error, match=None) as raised:
        call()  # type: ignore[operator]
    assert message in str(raised.value)


def test_logsumexp_and_log_softmax_over_an_empty_axis_are_pytorchs() -> None:
    # PyTorch: torch.logsumexp(torch.zeros(2, 0), 1) is [-inf, -inf]; torch.log_softmax(torch.zeros(2, 0), 1)
    # is an empty (2, 0) tensor.
    assert ce_cli.logsumexp(np.zeros((2, 0)), axis=1).tolist() == [-np.inf, -np.inf]
    assert ce_cli.log_softmax(np.zeros((2, 0)), axis=1).shape == (2, 0)


def test_a_huge_ignore_index_is_a_usage_error_on_every_kernel(run: Run) -> None:
    result = run("compute", "-l", "1,2,3", "-t", "0", "--ignore-index", "9223372036854775808")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "ce-loss: error: ignore_index 9223372036854775808 is beyond int64\n"


def test_a_row_of_200000_logits_parses_in_memory_proportional_to_it(tmp_path: Path) -> None:
    row = np.random.default_rng(0).standard_normal(200_000).round(3)
    path = tmp_path / "wide.txt"
    np.savetxt(path, row[None, :], fmt="%.3f")
    data = path.read_bytes()
    for source, stdin in ((str(path), None), ("-", data)):
        result = subprocess.run(
            ["bash", "-c", f"ulimit -v 3000000; {' '.join(CE_LOSS)} compute -l {source} -t 7 -q"],
            input=stdin,
            capture_output=True,
        )
        assert result.returncode == 0, result.stderr
        assert_close(float(result.stdout), mp_loss(row.tolist(), 7, dps=30), rtol=1e-12)


@pytest.mark.parametrize("command", ["compute", "compare", "explain", "compute --task binary"])
def test_a_closed_pipe_ends_quietly_with_141_for_every_table(command: str, tmp_path: Path) -> None:
    x = np.random.default_rng(0).standard_normal((4000, 3))
    np.save(tmp_path / "x.npy", x if "binary" not in command else x[:, 0])
    t = np.zeros(4000, dtype=np.int64) if "binary" not in command else np.ones(4000)
    np.save(tmp_path / "t.npy", t)
    script = (
        f"{' '.join(CE_LOSS)} {command} -l {tmp_path / 'x.npy'} -t {tmp_path / 't.npy'} --max-rows 4000 "
        "--no-warnings | head -1 > /dev/null; echo ${PIPESTATUS[0]}"
    )
    result = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env={**os.environ, "COLUMNS": "400"}
    )
    assert result.stdout == "141\n"
    assert result.stderr == ""


# -- 2. what is really read and written ------------------------------------------------------------


def _shards(folder: Path, count: int = 3) -> None:
    for i in range(count):
        np.save(folder / f"logits-{i}.npy", np.random.default_rng(i).standard_normal((4, 3)))
        np.save(folder / f"targets-{i}.npy", np.zeros(4, dtype=np.int64))
        np.savez(folder / f"s-{i}.npz", logits=np.random.default_rng(i).standard_normal((4, 3)), labels=np.zeros(4))


def test_output_onto_a_shard_of_the_input_is_refused(tmp_path: Path, run: Run) -> None:
    _shards(tmp_path)
    before = (tmp_path / "logits-1.npy").read_bytes()
    pattern = str(tmp_path / "logits-*.npy")
    result = run("compute", "-l", pattern, "-t", str(tmp_path / "targets-*.npy"), "-o", str(tmp_path / "logits-1.npy"))
    assert (result.exit_code, result.stdout) == (2, "")
    target = tmp_path / "logits-1.npy"
    assert result.stderr == (
        f"ce-loss: error: --output '{target}' is the input '{target}': writing the losses there would replace it\n"
    )
    assert (tmp_path / "logits-1.npy").read_bytes() == before


def test_output_onto_a_fifo_is_refused(tmp_path: Path, run: Run) -> None:
    fifo = tmp_path / "out.csv"
    os.mkfifo(fifo)
    result = run("compute", *WORKED, "-o", str(fifo))
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"ce-loss: error: --output '{fifo}' is not a regular file (a FIFO or a device), which writing the losses "
        "would replace with one; give a file's path, or use -f csv and redirect stdout\n"
    )
    assert fifo.is_fifo()


def test_npz_shards_take_their_key(tmp_path: Path, run: Run) -> None:
    _shards(tmp_path)
    whole = np.concatenate([np.random.default_rng(i).standard_normal((4, 3)) for i in range(3)])
    expected = np.mean([mp_loss(row, 0) for row in whole.tolist()])
    result = run("compute", "-l", str(tmp_path / "s-*.npz:logits"), "-t", str(tmp_path / "s-*.npz:labels"), "-q")
    assert result.exit_code == 0, result.stderr
    assert_close(float(result.stdout), expected, rtol=1e-13)


def test_a_shard_of_one_number_is_named_once(tmp_path: Path, run: Run) -> None:
    np.save(tmp_path / "z-0.npy", np.float64(1.0))
    np.save(tmp_path / "z-1.npy", np.float64(2.0))
    result = run("compute", "-l", str(tmp_path / "z-*.npy"), "-t", "0")
    assert result.exit_code == 1
    assert result.stderr == (
        f"ce-loss: error: logits file '{tmp_path / 'z-0.npy'}' holds a single number (shape ()): shards are "
        "arrays joined along their first axis\n"
    )


def test_a_thousand_shard_pairs_fit_in_256_open_files(tmp_path: Path) -> None:
    for i in range(1000):
        np.save(tmp_path / f"x-{i:04d}.npy", np.ones((2, 3)))
        np.save(tmp_path / f"t-{i:04d}.npy", np.zeros(2, dtype=np.int64))
    command = f"ulimit -n 256; {' '.join(CE_LOSS)} compute -l '{tmp_path}/x-*.npy' -t '{tmp_path}/t-*.npy' -q"
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) == pytest.approx(np.log(3.0), rel=1e-15)


# -- 3. output promises ----------------------------------------------------------------------------


@pytest.mark.parametrize("columns", ["1", "5", "10", "20", "39"])
@pytest.mark.parametrize("command", ["compute --by-class --top-k 1 --worst 2", "compare", "compute --task binary"])
def test_no_number_is_cut_at_any_width(columns: str, command: str) -> None:
    args = WORKED if "binary" not in command else ["-l", "0.5,-1,2", "-t", "1,0,1", "--no-warnings"]
    result = _run(*command.split(), *args, env={"COLUMNS": columns})
    assert result.returncode == 0
    assert "…" not in result.stdout
    out = json.loads(_run(*command.split(), *args, "-f", "json").stdout)
    mean = out["formulas"]["cross_entropy"]["mean"] if command == "compare" else out["mean"]
    assert repr(mean) in result.stdout


# -- 4. parsers and counters agree -----------------------------------------------------------------

ROWS = [[0.5, -1.25, 2.0], [1.5, 0.25, -0.75], [3.0, 1.0, 0.0], [-2.0, 0.5, 1.0]]
LABELS = [2, 0, 1, 2]
ROWS_MEAN = float(np.mean([mp_loss(r, t) for r, t in zip(ROWS, LABELS, strict=True)]))


def _with_blank_lines(path: Path) -> None:
    lines = ["a,b,c"]
    for i, row in enumerate(ROWS):
        lines.append(",".join(map(repr, row)))
        lines.append(["   ", "\t ", "  # an indented comment", ""][i])
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("streamed", [False, True])
@pytest.mark.parametrize("kernel", ["numpy", "native"])
def test_lines_of_blanks_are_no_rows_for_every_reader(
    streamed: bool, kernel: str, tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ce_cli import native
    from ce_cli.io import sources, text_stream

    if kernel == "native" and not native.runnable_variants():
        pytest.skip("no compiled kernel in this install")
    monkeypatch.setenv(native.ENVIRONMENT, kernel)
    if streamed:
        monkeypatch.setattr(text_stream, "STREAM_TEXT_BYTES", 0)
        monkeypatch.setattr(text_stream, "CHUNK_TEXT_BYTES", 40)
        monkeypatch.setattr(sources, "_HEAD_BYTES", 16)
    _with_blank_lines(tmp_path / "x.csv")
    result = run("compute", "-l", str(tmp_path / "x.csv"), "-t", ",".join(map(str, LABELS)), "-q")
    assert result.exit_code == 0, result.stderr
    assert_close(float(result.stdout), ROWS_MEAN, rtol=1e-14)


@pytest.mark.parametrize("streamed", [False, True])
def test_a_bad_cell_after_lines_of_blanks_is_named_by_its_line(
    streamed: bool, tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ce_cli.io import sources, text_stream

    if streamed:
        monkeypatch.setattr(text_stream, "STREAM_TEXT_BYTES", 0)
        monkeypatch.setattr(text_stream, "CHUNK_TEXT_BYTES", 40)
        monkeypatch.setattr(sources, "_HEAD_BYTES", 16)
    path = tmp_path / "x.csv"
    path.write_text("a,b,c\n0.5,1,2\n   \n1,2,3\n \t\n1,x,3\n")
    result = run("compute", "-l", str(path), "-t", "0,1,2")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith(f"ce-loss: error: logits file '{path}': line 6, column 2: 'x' is not a number")


# -- the kernel guards its own memory ----------------------------------------------------------------


@pytest.mark.parametrize("variant", ["baseline", "avx2", "avx512"])
def test_the_compiled_kernel_refuses_a_target_outside_the_row(variant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from ce_cli import native

    if variant not in native.runnable_variants():
        pytest.skip(f"this install or CPU does not run the {variant} kernel")
    monkeypatch.setenv(native.ENVIRONMENT, f"native-{variant}")
    kernel = native.active()
    module = kernel.module
    assert module is not None
    x = np.array([[1.0, 2.0, 3.0]])
    outputs = [np.empty(1), np.empty(1), np.empty(1, dtype=np.bool_), np.empty(1)]
    with pytest.raises(IndexError, match="target 3 at row 0 is out of range for 3 classes"):
        module.index_losses(kernel.index, x, np.array([3]), -100, None, *outputs, None, None)
    with pytest.raises(IndexError, match="target -1 at row 0 is out of range for 3 classes"):
        module.softmax_rows(kernel.index, x, np.array([-1]), np.empty(1), np.empty(1), np.empty(1), None, None)
    module.index_losses(kernel.index, x, np.array([-100]), -100, None, *outputs, None, None)  # ignored: fine
    assert outputs[0][0] == 0.0
    # every row of whole vectors and tails; the class count itself, -1 and the lowest int64 (one unsigned test)
    rows = np.tile(x, (37, 1))
    many = [np.empty(37), np.empty(37), np.empty(37, dtype=np.bool_), np.empty(37)]
    for bad in (3, -1, np.iinfo(np.int64).min):
        for at in range(37):
            targets = np.full(37, 2)
            targets[at] = bad
            targets[at + 1 :: 3] = -100
            with pytest.raises(IndexError, match=f"target {bad} at row {at} is out of range for 3 classes"):
                module.index_losses(kernel.index, rows, targets, -100, None, *many, None, None)


@pytest.mark.parametrize("kernel", ["numpy", "native"])
def test_evaluate_refuses_a_target_outside_the_classes_on_every_path(
    kernel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ce_cli import native, records
    from ce_cli.errors import TargetError
    from ce_cli.families.softmax.inputs import validate_inputs
    from ce_cli.families.softmax.losses import evaluate
    from ce_cli.formulas import formula_spec

    if kernel == "native" and not native.runnable_variants():
        pytest.skip("no compiled kernel in this install")
    monkeypatch.setenv(native.ENVIRONMENT, kernel)
    valid = validate_inputs([[1.0, 2.0, 3.0]], [0])
    planted = records.replace(valid, targets=np.array([3]))  # as if validation had let it through
    with pytest.raises(TargetError, match="target 3 at row 0 is out of range for 3 classes"):
        evaluate(planted, formula_spec("cross_entropy"))


# -- ranks, the binary family, clipping ------------------------------------------------------------


@pytest.mark.parametrize("kernel", ["numpy", "native"])
def test_top_k_orders_nan_as_torch_topk_does(kernel: str, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    # torch.topk puts NaN above every number: row [nan, 2, 1] with target 1 is out of the top 1 and in the top 2.
    # A target whose own logit is NaN is never a hit (its row has no prediction; accuracy counts it wrong).
    from ce_cli import native

    if kernel == "native" and not native.runnable_variants():
        pytest.skip("no compiled kernel in this install")
    monkeypatch.setenv(native.ENVIRONMENT, kernel)
    logits = "[[3, 2, 1], [NaN, 2, 1], [1, NaN, 0]]"
    out = json.loads(run("compute", "-l", logits, "-t", "0,1,1", "--top-k", "1,2", "-f", "json").stdout)
    assert out["ranks"] == [1, 2, 4]
    assert out["top_k_accuracy"] == {"1": 1 / 3, "2": 2 / 3}
    assert out["accuracy"] == 1 / 3


def test_the_binary_task_refuses_pos_weight_with_probabilities(run: Run) -> None:
    result = run("compute", "--task", "binary", "--formula", "naive", "--pos-weight", "5", "-l", "0.2,0.7", "-t", "0,1")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "ce-loss: error: pos_weight weighs the positives of logits; naive takes the inputs as probabilities, as "
        "binary_cross_entropy does, which has no pos_weight\n"
    )


def test_the_binary_non_finite_warning_says_what_pytorch_gives(run: Run) -> None:
    # PyTorch's binary_cross_entropy_with_logits: -inf with target 1 is NaN (torch_bce_cases.json, extreme_inf_logits).
    result = run("compute", "--task", "binary", "-l", "-inf,1", "-t", "1,0", "-q")
    assert result.stdout == "NaN\n"
    assert result.stderr == (
        "ce-loss: warning: 1 of 2 elements have NaN or infinite logits that make their loss NaN or infinite "
        "(computed as PyTorch's binary_cross_entropy_with_logits does: NaN gives NaN, +inf with target 0 gives "
        "+inf, any other infinite logit gives NaN)\n"
    )


@pytest.mark.parametrize(
    ("logits", "eps", "expected"),
    [
        ("0.9995,0.0005", "0.001", 0.0010005003335835344),  # -log(0.999): clipped at 1 - eps
        ("1,0", "auto", 2.220446049250313e-16),  # -log(1 - 2**-52)
    ],
)
def test_clipping_at_one_minus_eps(logits: str, eps: str, expected: float, run: Run) -> None:
    result = run("compute", "-l", logits, "-t", "0", "--formula", "naive", "--eps", eps, "-q")
    assert result.exit_code == 0
    assert float(result.stdout) == pytest.approx(expected, rel=1e-12, abs=0)


# -- start-up, messages, archives ------------------------------------------------------------------

_INTERRUPT_WHILE_IMPORTING = """
import os, signal, sys
class Interrupt:
    def find_spec(self, name, path=None, target=None):
        if name == "ce_cli.cli":
            os.kill(os.getpid(), signal.SIGINT)
        return None
sys.meta_path.insert(0, Interrupt())
from ce_cli.entry_point import main
main()
"""


def test_ctrl_c_while_starting_says_interrupted() -> None:
    result = subprocess.run([sys.executable, "-c", _INTERRUPT_WHILE_IMPORTING], capture_output=True, text=True)
    assert (result.returncode, result.stdout, result.stderr) == (130, "", "ce-loss: interrupted\n")


_BLAS_THREADS_SEEN = """
import os, sys
seen = []
class AtNumpy:  # what OpenBLAS would read, as numpy is first imported
    def find_spec(self, name, path=None, target=None):
        if name == "numpy" and not seen:
            seen.append(os.environ.get("OPENBLAS_NUM_THREADS"))
        return None
sys.meta_path.insert(0, AtNumpy())
from ce_cli.entry_point import main
try:
    main()
finally:
    print(*seen, file=sys.stderr)
"""


@pytest.mark.parametrize(("given", "seen"), [(None, "1"), ("3", "3")])
def test_the_console_script_asks_for_one_blas_thread_unless_told(given: str | None, seen: str) -> None:
    """Set before numpy is imported (OpenBLAS reads it once, as it loads); a user's own value is kept."""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    command = [sys.executable, "-c", _BLAS_THREADS_SEEN, "compute", "-l", "[[1.0, 2.0]]", "-t", "0", "-q"]
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() != ""
    assert result.stderr.splitlines()[-1] == seen


def test_a_path_with_a_line_end_is_one_line(run: Run) -> None:
    result = run("compute", "-l", "a\nb.npy", "-t", "0")
    assert result.exit_code == 1
    assert result.stderr == "ce-loss: error: logits file 'a\\nb.npy' does not exist\n"


def test_float16_targets_raise_no_python_warning(tmp_path: Path) -> None:
    # numpy 2 compares float16 with 2**63 in float16, which overflows: a RuntimeWarning that reached stderr.
    logits = np.array([[1, 2], [3, 4]], dtype=np.float16)
    with np.errstate(all="raise"):
        value = ce_cli.cross_entropy(logits, np.array([0, 1], dtype=np.float16))
    assert value == pytest.approx((mp_loss([1, 2], 0) + mp_loss([3, 4], 1)) / 2, rel=1e-14)
    soft = np.array([[0.3, 0.7], [0.5, 0.5]], dtype=np.float16)  # sums 1 to float16's precision: no warning
    np.save(tmp_path / "soft.npy", soft)
    result = _run("compute", "-l", "[[1, 2], [3, 4]]", "-t", str(tmp_path / "soft.npy"), "-q")
    assert result.stderr == ""


def test_an_npz_member_that_cannot_fit_is_refused_before_it_is_inflated(tmp_path: Path) -> None:
    np.savez_compressed(tmp_path / "bomb.npz", logits=np.zeros((2, 3)), labels=np.zeros(1 << 25, dtype=np.int64))
    assert (tmp_path / "bomb.npz").stat().st_size < 1 << 20  # 256 MiB of zeros, compressed
    archive = tmp_path / "bomb.npz"
    command = f"ulimit -v 1500000; {' '.join(CE_LOSS)} compute -l {archive}:logits -t {archive}:labels"
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr == (
        f"ce-loss: error: targets file '{archive}' have shape (33554432,), but the logits need "
        "class indices of shape (2,) (or probabilities of the logits' own shape)\n"
    )


def test_compare_says_the_naive_column_leaves_pos_weight_out(run: Run) -> None:
    result = run("compare", "--task", "binary", "-l", "0.2,0.7", "-t", "0,1", "--pos-weight", "5", "-f", "json")
    assert result.exit_code == 0
    assert result.stderr == (
        "ce-loss: warning: --pos-weight weighs the positives of logits; naive takes the inputs as probabilities "
        "and is computed without it (binary_cross_entropy has no pos_weight)\n"
    )


def test_a_target_out_of_range_deep_in_a_later_block_is_named_by_its_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """The compiled kernel refuses it per block; the message names the row of the whole input."""
    from ce_cli import blocks, native, records
    from ce_cli.errors import TargetError
    from ce_cli.families.softmax.inputs import validate_inputs
    from ce_cli.families.softmax.losses import evaluate
    from ce_cli.formulas import formula_spec

    if not native.runnable_variants():
        pytest.skip("no compiled kernel in this install")
    monkeypatch.setenv(native.ENVIRONMENT, "native")
    monkeypatch.setattr(blocks, "MIN_CHUNK_ROWS", 100)
    valid = validate_inputs(np.zeros((1000, 3)), np.zeros(1000, dtype=np.int64))
    targets = np.zeros(1000, dtype=np.int64)
    targets[777] = 5
    planted = records.replace(valid, targets=targets)
    with pytest.raises(TargetError, match="target 5 at row 777 is out of range for 3 classes"):
        evaluate(planted, formula_spec("cross_entropy"))
