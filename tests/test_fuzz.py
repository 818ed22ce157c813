"""The command line driven with random option combinations and malformed files: whatever comes in, what
comes out is a result (exit 0) or one error line (exit 1 for data, 2 for usage), never a traceback."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ce_cli.cli import app


def _files() -> dict[str, str]:
    folder = Path(tempfile.mkdtemp(prefix="ce-loss-fuzz-"))
    rng = np.random.default_rng(0)
    np.save(folder / "x.npy", rng.standard_normal((6, 4)))
    np.save(folder / "x3.npy", rng.standard_normal((2, 4, 3)))
    np.save(folder / "t.npy", rng.integers(0, 4, 6))
    np.save(folder / "soft.npy", np.full((6, 4), 0.25))
    np.save(folder / "int_multi_hot.npy", rng.integers(0, 2, (6, 4)))
    np.save(folder / "scalar.npy", np.float64(1.0))
    np.savez(folder / "a.npz", logits=rng.standard_normal((6, 4)), labels=rng.integers(0, 4, 6))
    (folder / "h.csv").write_text("id,a,b,c,label\n" + "".join(f"s{i},{i}.5,-1.25,0.5,{i % 3}\n" for i in range(6)))
    (folder / "bad.csv").write_text("a,b\n1,2\n3,x\n,,\n")
    (folder / "ragged.csv").write_text("1,2,3\n4,5\n")
    (folder / "eu.csv").write_text("a;b;c\n0,5;1,5;2\n1.234,5;0;1\n")
    (folder / "empty.csv").write_text("")
    (folder / "blank.txt").write_text("  \n\t\n")
    (folder / "junk.bin").write_bytes(bytes(range(256)) * 4)
    (folder / "trunc.npy").write_bytes((folder / "x.npy").read_bytes()[:100])
    (folder / "bad.json").write_text("[[1, 2], [3]]")
    (folder / "nested.json").write_text("[[[[1]]]]")
    files = {name: str(folder / name) for name in sorted(p.name for p in folder.iterdir())}
    files["pattern"] = str(folder / "x*.npy")
    files["missing"] = str(folder / "nope.npy")
    return files


FILES = _files()
INLINE = ["1,2,3", "0", "2", "-1", "[[1, 2], [3, 4]]", "1e400,0", "nan,1", "0.5;0.5", "[", "1,,2", "inf,-inf", "a,b"]
SOURCE = st.sampled_from([*FILES.values(), *INLINE, "-"])
VALUED = {
    "--targets": SOURCE,
    "--weight": SOURCE,
    "--pos-weight": SOURCE,
    "--target-column": st.sampled_from(["label", "-1", "9", "a", "x"]),
    "--drop-columns": st.sampled_from(["id", "0", "id,label", "zz", ""]),
    "--id-column": st.sampled_from(["id", "0", "nope"]),
    "--logit-columns": st.sampled_from(["a,b,c", "c,a", "a", "id"]),
    "--class-axis": st.sampled_from(["1", "-1", "0", "5", "x"]),
    "--ignore-index": st.sampled_from(["-100", "0", "9223372036854775808", "1.5"]),
    "--label-smoothing": st.sampled_from(["0.1", "1", "2", "nan", "-0"]),
    "--formula": st.sampled_from(["cross_entropy", "naive", "log_softmax_nll", "bogus"]),
    "--eps": st.sampled_from(["auto", "0.01", "0.5", "foo"]),
    "--task": st.sampled_from(["binary", "multiclass", "x"]),
    "--reduction": st.sampled_from(["mean", "sum", "none"]),
    "--format": st.sampled_from(["table", "json", "csv", "tsv"]),
    "--top-k": st.sampled_from(["1", "1,2", "0", "9", "x"]),
    "--worst": st.sampled_from(["1", "3", "-1"]),
    "--max-rows": st.sampled_from(["0", "1", "3"]),
    "--sample": st.sampled_from(["0", "5", "1,2", "x", "99"]),
}
FLAGS = ["--by-class", "--per-sequence", "--header", "--no-header", "-q", "--no-warnings"]
# Each option present or not on its own, so that deep combinations (naive with a bad --eps) come up.
OPTIONS = st.fixed_dictionaries({}, optional={**VALUED, **{flag: st.just(None) for flag in FLAGS}})


# Derandomized: the same 1500 cases on every run, so that CI never fails on a case found by chance; run it
# with --hypothesis-seed=N (and without this) to explore further.
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(command=st.sampled_from(["compute", "compare", "explain"]), logits=SOURCE, options=OPTIONS)
def test_anything_in_gives_a_result_or_one_error_line(
    command: str, logits: str, options: dict[str, str | None]
) -> None:
    args = [command, "--logits", logits]
    for flag, value in options.items():
        args += [flag] if value is None else [flag, value]
    result = CliRunner().invoke(app, args, input=b"")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback: a bug
    assert result.exit_code in (0, 1, 2), (args, result.exit_code, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.startswith("ce-loss: error:")]
    if result.exit_code == 0:
        assert errors == [], args
    else:
        assert result.stdout == "", args
        assert len(errors) == 1, (args, result.stderr)
        assert result.stderr.splitlines()[-1] == errors[0], (args, result.stderr)
    assert all(line.startswith("ce-loss: ") for line in result.stderr.splitlines()), (args, result.stderr)
