"""Every bad input ends with exit status 1 or 2, one clear line on stderr, nothing on stdout,
no traceback and no --output file."""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ce_cli import FORMULAS
from ce_cli.cli import app
from tests.conftest import EXAMPLES, Run, assert_close, case_names, mp_loss

X33 = "0.1,0.2,0.3;1,2,3;-1,0,1"


def check_failure(result: Any, code: int, message: str, output: Path | None = None) -> None:
    """The contract for every failure."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == code, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    if code == 1 or result.stderr.startswith("ce-loss: error:"):
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("ce-loss: error: ")
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    if output is not None:
        assert not output.exists()
        assert [p for p in os.listdir(output.parent) if p.startswith(".ce-loss")] == []


def npy(path: Path, array: Any, allow_pickle: bool = False) -> str:
    np.save(path, array, allow_pickle=allow_pickle)
    return str(path)


class _CreatesAFileWhenUnpickled:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


def bad_files(tmp: Path) -> dict[str, tuple[str, str]]:
    """Family name -> (logits SRC, the message expected)."""
    good = npy(tmp / "good.npy", np.zeros((3, 3)))
    raw = Path(good).read_bytes()
    (tmp / "truncated.npy").write_bytes(raw[:-8])
    (tmp / "empty.npy").write_bytes(b"")
    (tmp / "text.npy").write_text("1,2,3\n")
    (tmp / "binary.csv").write_bytes(raw)
    (tmp / "latin1.csv").write_bytes("1,2,\xe9\n".encode("latin-1"))
    (tmp / "notzip.npz").write_text("hello")
    (tmp / "adir").mkdir()
    np.savez(tmp / "several.npz", a=np.zeros((3, 3)), b=np.zeros(3))
    np.save(tmp / "objects.npy", np.array([1, None], dtype=object), allow_pickle=True)
    np.savez(tmp / "objects.npz", a=np.array([1, None], dtype=object))
    return {
        "missing": (str(tmp / "missing.npy"), "does not exist"),
        "a directory": (str(tmp / "adir"), "is a directory"),
        "empty": (str(tmp / "empty.npy"), "is empty"),
        "text claiming .npy": (str(tmp / "text.npy"), "is not a .npy file (no NumPy header)"),
        "npy bytes claiming .csv": (str(tmp / "binary.csv"), "holds binary NumPy data"),
        "not UTF-8": (str(tmp / "latin1.csv"), "is neither text (UTF-8) nor a .npy/.npz file"),
        "not a zip claiming .npz": (str(tmp / "notzip.npz"), "is not a valid .npz file"),
        "truncated npy": (
            str(tmp / "truncated.npy"),
            "is truncated: its header promises 72 bytes of data, it holds 64",
        ),
        "object npy": (str(tmp / "objects.npy"), "holds Python objects (pickled data), which are never loaded"),
        "object npz": (str(tmp / "objects.npz"), "(array 'a') holds Python objects (pickled data)"),
        "complex dtype": (npy(tmp / "c.npy", np.zeros((3, 3), complex)), "must hold real numbers, not complex numbers"),
        "string dtype": (npy(tmp / "s.npy", np.array([["a", "b", "c"]] * 3)), "must hold real numbers, not strings"),
        "bool dtype": (npy(tmp / "b.npy", np.zeros((3, 3), bool)), "must hold real numbers, not booleans"),
        "0-d logits": (npy(tmp / "zero.npy", np.array(2.0)), "is a single number; it needs a class axis"),
        "npz with several arrays and no key": (
            str(tmp / "several.npz"),
            "holds 2 arrays (a, b); name one as FILE.npz:KEY",
        ),
        "npz missing key": (f"{tmp / 'several.npz'}:zz", "has no array 'zz' (it holds: a, b)"),
    }


FILE_FAMILIES = case_names(bad_files)


@pytest.mark.parametrize("family", FILE_FAMILIES)
def test_bad_files(family: str, tmp_path: Path, run: Run) -> None:
    src, message = bad_files(tmp_path)[family]
    output = tmp_path / "out.npy"
    check_failure(run("compute", "-l", src, "-t", "0,1,2", "-o", str(output)), 1, message, output)


def test_a_pickle_that_would_create_a_file_is_never_unpickled(tmp_path: Path, run: Run) -> None:
    marker = tmp_path / "created-by-unpickling"
    evil = np.array([_CreatesAFileWhenUnpickled(marker), None], dtype=object)
    np.save(tmp_path / "evil.npy", evil, allow_pickle=True)
    np.savez(tmp_path / "evil.npz", logits=evil)
    with zipfile.ZipFile(tmp_path / "evil.npz") as archive:  # the payload really is a pickle of open()
        assert b"open" in archive.read("logits.npy")
    pickle.loads(pickle.dumps(_CreatesAFileWhenUnpickled(marker))).close()  # unpickling does create it ...
    marker.unlink()
    for src in ("evil.npy", "evil.npz"):
        result = run("compute", "-l", str(tmp_path / src), "-t", "0")
        check_failure(result, 1, "holds Python objects (pickled data), which are never loaded")
        assert not marker.exists()  # ... but ce-loss never unpickles
    result = run("compute", "-l", "-", "-t", "0", input=(tmp_path / "evil.npy").read_bytes())
    check_failure(result, 1, "holds Python objects")
    assert not marker.exists()


@pytest.mark.parametrize(
    ("logits", "content", "message"),
    [
        ("ragged.csv", "1,2,3\n4,5\n", "line 2 has 2 values, but earlier rows have 3"),
        ("empty-cell.csv", "1,2,3\n4,,6\n", "line 2, column 2 is empty"),
        ("non-numeric.csv", "a,b,c\n1,2,3\n4,x,6\n", "line 3, column 2: 'x' is not a number"),
        ("non-numeric.tsv", "1\t2\t3\n4\tfoo\t6\n", "line 2, column 2: 'foo' is not a number"),
        ("non-numeric.txt", "1 2 3\n4 5 six\n", "line 2, column 3: 'six' is not a number"),
        ("header-only.csv", "a,b,c\n", "has a header but no rows of numbers"),
        ("blank.csv", "\n\n  \n", "holds no numbers"),
    ],
)
def test_bad_text_tables(logits: str, content: str, message: str, tmp_path: Path, run: Run) -> None:
    path = tmp_path / logits
    path.write_text(content)
    output = tmp_path / "out.csv"
    check_failure(run("compute", "-l", str(path), "-t", "0,1", "-o", str(output)), 1, message, output)


@pytest.mark.parametrize(
    ("logits", "message"),
    [
        ("[[1, 2], [3]", "inline logits: malformed JSON"),
        ("[[1, 2], [3]]", "inline logits: the JSON must be a nested list of numbers with rows of equal length"),
        ('[["a", 1]]', "nested list of numbers"),
        ("1,2;3", "inline logits: line 2 has 1 values, but earlier rows have 2"),
        ("1,,2", "inline logits: line 1, column 2 is empty"),
    ],
)
def test_bad_inline_text(logits: str, message: str, run: Run) -> None:
    check_failure(run("compute", "-l", logits, "-t", "0"), 1, message)


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ("0,1,3", "inline targets: class 3 at position 2 is out of range for 3 classes"),
        ("0,-1,2", "inline targets: class -1 at position 1 is out of range"),
        ("0,1.5,2", "1.5 at position 1 is not a whole number"),
        ("0,nan,2", "nan at position 1 is not a finite number"),
        ("0,1e19,2", "1e+19 at position 1 is beyond int64"),
        ("0,1", "inline targets have shape (2,), but the logits need class indices of shape (3,)"),
        ("[[0.5, 0.5], [0.5, 0.5], [1, 0]]", "have shape (3, 2), but the logits need class indices of shape (3,)"),
    ],
)
def test_bad_targets(targets: str, message: str, tmp_path: Path, run: Run) -> None:
    output = tmp_path / "out.npy"
    check_failure(run("compute", "-l", X33, "-t", targets, "-o", str(output)), 1, message, output)


def test_unsigned_targets_beyond_int64(tmp_path: Path, run: Run) -> None:
    src = npy(tmp_path / "t.npy", np.array([2**63 + 5, 1, 2], dtype=np.uint64))
    check_failure(run("compute", "-l", X33, "-t", src), 1, "9223372036854775813 at position 0 is beyond int64")


@pytest.mark.parametrize(
    ("options", "code", "message"),
    [
        (["--weight", "1,2"], 1, "inline weight has shape (2,), but there are 3 classes; it needs (3,)"),
        (["--weight", "1,b,3"], 1, "inline weight: line 1, column 2: 'b' is not a number"),
        (["--weight", "[[1, 2, 3]]"], 1, "inline weight has shape (1, 3)"),
        (["--label-smoothing", "1.5"], 2, "--label-smoothing"),
        (["--label-smoothing", "-0.1"], 2, "--label-smoothing"),
        (["--label-smoothing", "nan"], 2, "--label-smoothing"),
        (["--class-axis", "2"], 2, "class axis 2 is out of range for inline logits of shape (3, 3)"),
        (["--formula", "textbook"], 2, "'textbook' is not one of"),
        (["--format", "xml"], 2, "'xml' is not one of"),
        (["--reduction", "avg"], 2, "'avg' is not one of"),
        (["--ignore-index", "one"], 2, "--ignore-index"),
        (["-o", "losses.json"], 2, "--output 'losses.json' must end in .npy, .csv, .tsv"),
        (["-o", "/no/such/folder/out.npy"], 1, "the folder '/no/such/folder' does not exist"),
        (["-o", "/proc/out.npy"], 1, "the folder '/proc' is not writable"),
    ],
)
def test_bad_options(options: list[str], code: int, message: str, run: Run) -> None:
    check_failure(run("compute", "-l", X33, "-t", "0,1,2", *options), code, message)


def test_output_path_is_checked_before_any_input_is_read(run: Run) -> None:
    result = run("compute", "-l", "missing.npy", "-t", "0", "-o", "/no/such/folder/out.npy")
    check_failure(result, 1, "--output '/no/such/folder/out.npy'")


def test_probability_targets_with_a_class_as_ignore_index(run: Run) -> None:
    targets = "[[1, 0, 0], [0, 1, 0], [0, 0, 1]]"
    check_failure(run("compute", "-l", X33, "-t", targets, "--ignore-index", "1"), 2, "ignore index 1 cannot be used")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-l", X33], "give the targets with exactly one of --targets SRC and --target-column NAME|INDEX"),
        (["-l", X33, "-t", "0,1,2", "--target-column", "0"], "exactly one of --targets SRC and --target-column"),
        (["-l", "-", "-t", "-"], "only one source can read stdin ('-')"),
        (["-l", str(EXAMPLES / "worked_labeled.csv"), "--target-column", "nope"], "has no column named 'nope'"),
        (["-l", str(EXAMPLES / "worked_labeled.csv"), "--target-column", "7"], "target column 7 is out of range"),
    ],
)
def test_bad_target_sources_are_usage_errors(args: list[str], message: str, run: Run) -> None:
    check_failure(run("compute", *args), 2, message)


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        (b"", "logits from stdin: standard input is empty"),
        (bytes(range(256)), "logits from stdin is neither text (UTF-8) nor a .npy/.npz file"),
        (b"\x93NUMPY garbage", "logits from stdin is not a valid .npy file"),
    ],
)
def test_bad_stdin(stdin: bytes, message: str, run: Run) -> None:
    check_failure(run("compute", "-l", "-", "-t", "0", input=stdin), 1, message)


# The fuzz test: random bytes and text as input files, random option values.

SUFFIXES = [".npy", ".npz", ".csv", ".tsv", ".txt", ".bin", ""]
text_cells = st.lists(
    st.lists(
        st.sampled_from(["0", "1", "2", "-1", "0.5", "1e400", "nan", "-inf", "x", "", " ", "3.0", "1e19"]), max_size=5
    ),
    max_size=5,
)
OPTION_VALUES = {
    "--formula": st.sampled_from([*FORMULAS, "bogus", ""]),
    "--format": st.sampled_from(["table", "json", "csv", "tsv", "yaml"]),
    "--reduction": st.sampled_from(["mean", "sum", "none", "max"]),
    "--class-axis": st.integers(-4, 4).map(str),
    "--ignore-index": st.one_of(st.integers(-200, 5).map(str), st.just("x")),
    "--label-smoothing": st.one_of(st.floats(allow_nan=True).map(repr), st.just("half")),
    "--weight": st.sampled_from(["1,2,3", "1,2", "a", "[[1]]", "-1,0,1e400"]),
    "--max-rows": st.integers(-2, 5).map(str),
}


@st.composite
def invocations(draw: Any) -> tuple[list[str], dict[str, bytes], bytes | None]:
    files: dict[str, bytes] = {}
    stdin: bytes | None = None
    n, c = draw(st.integers(0, 4)), draw(st.integers(1, 4))
    numbers = st.sampled_from(["0", "1.5", "-2", "0.25", "1e3", "-1e300", "nan", "inf", "-inf", "1e-320"])

    def well_formed(role: str) -> str:
        """A source that fits the others, so the fuzzing reaches the math and the renderers."""
        if role == "logits":
            return ";".join(",".join(draw(st.lists(numbers, min_size=c, max_size=c))) for _ in range(n)) or "[]"
        return ",".join(str(draw(st.sampled_from([-100, *range(c + 1)]))) for _ in range(n)) or "[]"

    def source(role: str) -> str:
        nonlocal stdin
        kind = draw(st.sampled_from(["well-formed", "well-formed", "bytes", "text", "npy", "inline", "stdin"]))
        if kind == "well-formed":
            return well_formed(role)
        if kind == "inline":
            cells = draw(text_cells)
            return ";".join(",".join(row) for row in cells) or "0"
        if kind == "stdin" and stdin is None:
            stdin = draw(st.binary(max_size=200))
            return "-"
        name = f"{role}{draw(st.sampled_from(SUFFIXES))}"
        if kind == "npy":
            shape = draw(st.lists(st.integers(0, 4), max_size=3))
            dtype = draw(st.sampled_from(["<f8", "<f4", "<i8", "|b1", "<c16", "<U2"]))
            buffer = _npy_bytes((np.arange(int(np.prod(shape))) % 3).astype(dtype).reshape(shape))
            files[name] = buffer[: draw(st.integers(0, len(buffer)))] if draw(st.booleans()) else buffer
        elif kind == "text":
            files[name] = "\n".join(",".join(row) for row in draw(text_cells)).encode()
        else:
            files[name] = draw(st.binary(max_size=300))
        return name

    args = [
        draw(st.sampled_from(["compute", "compare", "explain"])),
        "--logits",
        source("logits"),
        "--targets",
        source("targets"),
    ]
    for option in draw(st.lists(st.sampled_from(sorted(OPTION_VALUES)), unique=True, max_size=3)):
        if args[0] != "compute" and option in ("--formula", "--reduction"):
            continue
        if args[0] == "explain" and option in ("--max-rows",):
            continue
        args += [option, draw(OPTION_VALUES[option])]
    if args[0] == "explain" and draw(st.booleans()):
        args += ["--sample", draw(st.sampled_from(["0", "1", "-1", "2,0", "x"]))]
    if args[0] == "compute" and draw(st.booleans()):
        args += ["-o", "losses.npy"]
    return args, files, stdin


def _npy_bytes(array: Any) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(invocation=invocations())
def test_fuzz_every_outcome_is_success_or_a_clean_error(invocation: Any, tmp_path_factory: Any) -> None:
    drawn, files, stdin = invocation
    folder = tmp_path_factory.mktemp("fuzz")
    for name, content in files.items():
        (folder / name).write_bytes(content)
    args = [str(folder / arg) if arg in files or arg == "losses.npy" else arg for arg in drawn]
    result = CliRunner().invoke(app, args, input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.exception)
    assert result.exit_code in (0, 1, 2), (args, result.exit_code)
    event(f"{args[0]} exit {result.exit_code}")
    assert "Traceback" not in result.stderr
    if result.exit_code != 0:
        assert result.stdout == "", args
        assert not (folder / "losses.npy").exists()
        if result.exit_code == 1:
            assert result.stderr.startswith("ce-loss: error: "), (args, result.stderr)
    else:
        assert result.stdout != "" or "--max-rows" in args, args


def _big_table(rows: int = 20_000) -> str:
    rng = np.random.default_rng(5)
    values = rng.standard_normal((rows, 3))
    return "a,b,c\n" + "\n".join(",".join(f"{v:.6f}" for v in row) for row in values.tolist()) + "\n"


def test_large_csv_is_parsed_from_the_file(tmp_path: Path, run: Run) -> None:
    text = _big_table()
    assert len(text) > 1 << 16  # beyond the head read for the header
    (tmp_path / "x.csv").write_text("\ufeff# scores\n" + text)
    targets = ",".join("0" for _ in range(20_000))
    result = run("compute", "-l", str(tmp_path / "x.csv"), "-t", targets, "-f", "json")
    assert result.exit_code == 0, result.stderr
    expected = np.loadtxt(io.StringIO(text), delimiter=",", skiprows=1)
    out = json.loads(result.stdout)
    assert out["shape"] == list(expected.shape)
    check = [0, 1, 9_999, 19_999]  # the first rows, one past the 64 KiB head, the last
    assert_close([out["losses"][i] for i in check], [mp_loss(expected[i].tolist(), 0) for i in check], rtol=1e-14)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda lines: lines.__setitem__(15_000, "1.0,oops,2.0"), "line 15001, column 2: 'oops' is not a number"),
        (lambda lines: lines.__setitem__(12_345, "1.0,2.0"), "line 12346 has 2 values, but earlier rows have 3"),
    ],
)
def test_large_csv_errors_name_the_line(damage: Any, message: str, tmp_path: Path, run: Run) -> None:
    lines = _big_table().splitlines()
    damage(lines)
    (tmp_path / "x.csv").write_text("\n".join(lines) + "\n")
    check_failure(run("compute", "-l", str(tmp_path / "x.csv"), "-t", "0"), 1, message)


def test_large_file_that_stops_being_text(tmp_path: Path, run: Run) -> None:
    (tmp_path / "x.csv").write_bytes(_big_table().encode() + bytes(range(128, 256)) * 10)
    check_failure(run("compute", "-l", str(tmp_path / "x.csv"), "-t", "0"), 1, "is neither text (UTF-8)")


@pytest.mark.parametrize(
    ("targets_shape", "options", "advice"),
    [
        ((4, 7), [], "they fit class axis -1: use --class-axis -1"),
        ((4, 5), ["--class-axis", "-1"], "they fit class axis 1: leave out --class-axis (1 is the default)"),
    ],
)
def test_a_shape_error_names_the_class_axis_that_fits(
    targets_shape: tuple[int, int], options: list[str], advice: str, tmp_path: Path, run: Run
) -> None:
    logits = npy(tmp_path / "x.npy", np.zeros((4, 7, 5)))  # (batch, time, vocab)
    targets = npy(tmp_path / "t.npy", np.zeros(targets_shape, dtype=int))
    result = run("compute", "-l", logits, "-t", targets, *options)
    check_failure(result, 1, advice)
    assert result.stderr.strip().endswith(advice)
    assert f"have shape {targets_shape}, but the logits need class indices of shape" in result.stderr


def test_a_shape_error_without_a_fitting_axis_gives_no_advice(tmp_path: Path, run: Run) -> None:
    logits = npy(tmp_path / "x.npy", np.zeros((4, 7, 5)))
    result = run("compute", "-l", logits, "-t", "1,2")
    check_failure(result, 1, "inline targets have shape (2,), but the logits need class indices of shape (4, 5)")
    assert "class axis" not in result.stderr


def _npy_header_only(path: Path, shape: tuple[int, ...]) -> str:
    """A .npy file whose header claims ``shape`` and which holds no data."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, "shape": shape})
    path.write_bytes(buffer.getvalue())
    return str(path)


def _damaged_npz(path: Path, method: int) -> str:
    """An .npz whose one member's compressed stream is damaged in the middle."""
    payload = io.BytesIO()
    np.save(payload, np.arange(4000.0).reshape(400, 10))
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        archive.writestr("a.npy", payload.getvalue())
    raw = bytearray(path.read_bytes())
    middle = len(raw) // 2
    raw[middle : middle + 64] = bytes(range(64))
    path.write_bytes(bytes(raw))
    return str(path)


def hostile_sources(tmp: Path) -> dict[str, tuple[str, str]]:
    """Family name -> (logits SRC, the message expected), for inputs that once gave tracebacks."""
    return {
        "JSON nested 10,000 deep": ("[" * 10_000 + "]" * 10_000, "inline logits: malformed JSON: nested too deeply"),
        "JSON integer of 5,000 digits": ("[" + "9" * 5000 + "]", "inline logits: malformed JSON: Exceeds the limit"),
        "JSON integer of 400 digits": ("[[" + "9" * 400 + ", 1]]", "the JSON holds an integer beyond float64"),
        "npy header of 71 dimensions": (
            _npy_header_only(tmp / "d71.npy", (0,) * 71),
            "has a header numpy cannot make an array of: maximum supported dimension",
        ),
        "npy header of 2**62 rows": (
            _npy_header_only(tmp / "huge.npy", (2**62, 0)),
            "has a header numpy cannot make an array of: array is too big",
        ),
        "npz with a damaged deflate member": (
            _damaged_npz(tmp / "deflate.npz", zipfile.ZIP_DEFLATED),
            "is not a valid .npz file (a zip of .npy files)",
        ),
        "npz with a damaged LZMA member": (
            _damaged_npz(tmp / "lzma.npz", zipfile.ZIP_LZMA),
            "is not a valid .npz file (a zip of .npy files)",
        ),
    }


@pytest.mark.parametrize("family", case_names(hostile_sources))
def test_hostile_sources_are_one_error_line(family: str, tmp_path: Path, run: Run) -> None:
    src, message = hostile_sources(tmp_path)[family]
    check_failure(run("compute", "-l", src, "-t", "0"), 1, message)


def test_cr_only_line_endings_are_line_endings(tmp_path: Path, run: Run) -> None:
    (tmp_path / "cr.csv").write_bytes(b"1,2,3\r4,5,6\r")
    result = run("compute", "-l", str(tmp_path / "cr.csv"), "-t", "0,1", "-f", "json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["shape"] == [2, 3]
    assert_close(out["losses"], [mp_loss([1, 2, 3], 0), mp_loss([4, 5, 6], 1)], rtol=1e-15)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["explain", "-l", X33, "-t", "0,1,2", "--sample", "9" * 5000], "--sample '9999"),
        (["compute", "-l", str(EXAMPLES / "worked_labeled.csv"), "--target-column", "9" * 5000], "no column named"),
        (["compute", "-l", X33, "-t", "0,1,2", "--drop-columns", "9" * 5000], "to leave out"),
    ],
)
def test_indices_of_thousands_of_digits_are_usage_errors(args: list[str], message: str, run: Run) -> None:
    check_failure(run(*args), 2, message)


@pytest.mark.parametrize("spelling", ["same", "dot-slash", "symlink", "hard link", "the targets file"])
def test_an_output_that_is_an_input_is_refused_before_anything_is_read(
    spelling: str, tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("in.csv").write_text("1,2,3\n4,5,6\n")
    np.save("t.npy", np.array([0, 1]))
    output, source = {
        "same": ("in.csv", "in.csv"),
        "dot-slash": ("./in.csv", "in.csv"),
        "symlink": ("link.csv", "in.csv"),
        "hard link": ("hard.csv", "in.csv"),
        "the targets file": ("t.npy", "t.npy"),
    }[spelling]
    if spelling == "symlink":
        os.symlink("in.csv", "link.csv")
    if spelling == "hard link":
        os.link("in.csv", "hard.csv")
    before = {name: Path(name).read_bytes() for name in ("in.csv", "t.npy")}
    result = run("compute", "-l", "in.csv", "-t", "t.npy", "-o", output)
    check_failure(result, 2, f"--output '{output}' is the input '{source}': writing the losses there would replace it")
    assert {name: Path(name).read_bytes() for name in before} == before


def test_an_output_named_only_by_its_suffix_is_told_so(run: Run) -> None:
    check_failure(
        run("compute", "-l", X33, "-t", "0,1,2", "-o", ".npy"),
        2,
        "--output '.npy' has no name before its suffix: write, for example, losses.npy",
    )


def test_an_npz_of_many_arrays_is_listed_in_a_short_line(tmp_path: Path, run: Run) -> None:
    arrays: dict[str, Any] = {f"a{i}": np.zeros(1) for i in range(300)}
    np.savez(tmp_path / "many.npz", **arrays)
    result = run("compute", "-l", str(tmp_path / "many.npz"), "-t", "0")
    check_failure(result, 1, "holds 300 arrays (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, ... (290 more)); name one")
    assert len(result.stderr) < 300


@pytest.mark.parametrize(("order", "dtype"), [("F", "<f8"), ("C", ">f8"), ("C", "<f4")])
def test_npz_members_are_read_in_their_order_and_byte_order(order: str, dtype: str, tmp_path: Path, run: Run) -> None:
    logits = np.array([[1.0, 2.0, 3.0], [4.0, 6.0, 5.0]], dtype=dtype, order=order)  # type: ignore[call-overload]
    np.savez_compressed(tmp_path / "x.npz", logits=logits)
    result = run("compute", "-l", str(tmp_path / "x.npz"), "-t", "0,1", "-f", "json")
    assert_close(json.loads(result.stdout)["losses"], [mp_loss([1, 2, 3], 0), mp_loss([4, 6, 5], 1)], rtol=1e-15)


INFLATE_SCRIPT = """
import resource, sys
from ce_cli.io.sources import load
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
import numpy as np
array = np.asarray(load(sys.argv[1], "logits").array)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024, array.nbytes >> 20)
"""


def test_an_npz_member_is_inflated_once_into_its_array(tmp_path: Path) -> None:
    import subprocess
    import sys

    np.savez_compressed(tmp_path / "big.npz", a=np.zeros((1 << 22, 4)))  # 128 MiB that compress to ~130 KiB
    assert (tmp_path / "big.npz").stat().st_size < 1 << 20
    out = subprocess.run(
        [sys.executable, "-c", INFLATE_SCRIPT, str(tmp_path / "big.npz")], capture_output=True, text=True, check=True
    ).stdout.split()
    growth_mib, size_mib = int(out[0]), int(out[1])
    assert size_mib == 128
    assert growth_mib < 160  # the array and a block, not the member twice (256 MiB)


def test_max_rows_1_still_shows_the_elision(run: Run) -> None:
    result = run("compute", "-l", "1,2,3;4,5,6;7,8,9", "-t", "0,1,2", "--max-rows", "1")
    assert re.findall(r"^│\s+(\S+) │\s+(\S+ \S+|\d+) │", result.stdout, flags=re.MULTILINE) == [
        ("0", "0"),
        ("...", "(2 more)"),
    ]


def test_explain_warns_about_non_finite_logits_unless_told_not_to(run: Run) -> None:
    result = run("explain", "-l", "[[1, NaN, 3]]", "-t", "0", "-f", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["loss"] == "NaN"
    assert result.stderr == (
        "ce-loss: warning: 1 of 1 samples have NaN or infinite logits that make their loss NaN or infinite "
        "(computed as PyTorch does: NaN and +inf give NaN, a -inf target logit gives +inf)\n"
    )
    assert run("explain", "-l", "[[1, NaN, 3]]", "-t", "0", "-f", "json", "--no-warnings").stderr == ""


def test_bounds_of_one_option_are_not_lent_to_another() -> None:
    """Options of one type share Typer's converter (ce_cli/cli/typer_adapters.py, installed by the console
    script's main) only where neither has bounds: a bounded option given first (--max-rows, --worst: at
    least 0) leaves --ignore-index's default of -100 valid, and --max-rows -1 is still refused."""
    command = [sys.executable, "-c", "from ce_cli.entry_point import main; main()", "compute", "-l", "[[1.0, 2.0]]"]
    for bounded in (["--max-rows", "4"], ["--worst", "1"], ["--ignore-index", "-7", "--max-rows", "0"]):
        given = subprocess.run([*command, "-t", "1", *bounded], capture_output=True, text=True)
        assert given.returncode == 0, (bounded, given.stderr)
    refused = subprocess.run([*command, "-t", "1", "--max-rows", "-1"], capture_output=True, text=True)
    assert refused.returncode == 2
    assert refused.stdout == ""
    assert "--max-rows" in refused.stderr


def test_the_console_script_builds_only_the_command_run_yet_knows_them_all() -> None:
    """``main`` hands Typer only the command named (ce_cli/cli/typer_adapters.py); the group's help and its
    "no such command" still see every command."""
    command = [sys.executable, "-c", "from ce_cli.entry_point import main; main()"]
    listed = subprocess.run([*command, "--help"], capture_output=True, text=True, env={**os.environ, "COLUMNS": "100"})
    assert listed.returncode == 0
    assert all(name in listed.stdout for name in ("compute", "compare", "explain", "pool"))
    misspelt = subprocess.run([*command, "comptue", "-l", "x"], capture_output=True, text=True)
    assert misspelt.returncode == 2
    assert misspelt.stdout == ""
    assert "No such command 'comptue'" in misspelt.stderr
    assert "'compute'" in misspelt.stderr  # suggested (Click's wording varies with its version)
    helped = subprocess.run([*command, "explain", "--help"], capture_output=True, text=True)
    assert helped.returncode == 0
    assert "--sample" in helped.stdout
    ran = subprocess.run(
        [*command, "compare", "-l", "[[1.0, 2.0]]", "-t", "1", "-f", "json"], capture_output=True, text=True
    )
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)


def test_a_target_out_of_range_is_named_by_its_line_in_a_text_file(run: Run, tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("a,b,label\n1,2,0\n# a comment\n\n3,4,7\n")
    column = run("compute", "-l", str(tmp_path / "x.csv"), "--target-column", "label")
    assert column.exit_code == 1
    assert column.stdout == ""
    assert "class 7 at position 1 is out of range for 2 classes" in column.stderr
    assert f"it is on line 5 of '{tmp_path / 'x.csv'}'" in column.stderr  # the comment and blank line counted
    (tmp_path / "t.csv").write_text("target\n0\n9\n")
    (tmp_path / "l.csv").write_text("a,b\n1,2\n3,4\n")
    separate = run("compute", "-l", str(tmp_path / "l.csv"), "-t", str(tmp_path / "t.csv"))
    assert separate.exit_code == 1
    assert f"it is on line 3 of '{tmp_path / 't.csv'}'" in separate.stderr
    inline = run("compute", "-l", str(tmp_path / "l.csv"), "-t", "0,9")
    assert inline.exit_code == 1
    assert "it is on line" not in inline.stderr  # inline numbers have no file to point into


def test_a_target_out_of_range_in_a_table_of_targets_names_its_line(run: Run, tmp_path: Path) -> None:
    """Targets (N, T) for logits (N, C, T): position (1, 2), flat 5, is on the file's second line."""
    np.save(tmp_path / "x.npy", np.zeros((3, 2, 3)))
    (tmp_path / "t.csv").write_text("0,1,0\n1,1,5\n0,0,0\n")
    result = run("compute", "-l", str(tmp_path / "x.npy"), "-t", str(tmp_path / "t.csv"))
    assert result.exit_code == 1
    assert "class 5 at position (1, 2)" in result.stderr
    assert f"it is on line 2 of '{tmp_path / 't.csv'}'" in result.stderr
