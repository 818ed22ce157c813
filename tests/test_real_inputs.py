"""Inputs as people hold them: pandas CSVs with an index or an id column, multi-hot and unnormalised targets,
and one-column logits; each is read as written, or said, never silently a wrong number."""

from __future__ import annotations

import json
from pathlib import Path

import mpmath
import numpy as np
import pytest

from tests.conftest import Run, assert_close, mp_loss, warnings_in

ROWS = [[0.126, -0.132, 0.64], [0.105, -0.536, 0.362], [1.304, 0.947, -0.704], [-1.265, -0.623, 0.041]]
LABELS = [0, 1, 2, 0]
EXPECTED = [mp_loss(row, t) for row, t in zip(ROWS, LABELS, strict=True)]
INDEX_READ = "first column (unnamed, as pandas and R write the row index) read as the row index"


def mp_soft_loss(row: list[float], target: list[float]) -> float:
    """``sum_c t_c * (logsumexp(x) - x_c)`` in mpmath: cross-entropy with the targets used as given."""
    with mpmath.workdps(50):
        values = [mpmath.mpf(v) for v in row]
        lse = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in values))
        return float(mpmath.fsum(mpmath.mpf(t) * (lse - v) for t, v in zip(target, values, strict=True)))


def _pandas_csv(path: Path, *, index: bool = False, ids: bool = False) -> str:
    """What ``df.to_csv()`` writes for a frame with columns a, b, c, label (and an id column first)."""
    header = ["" if index else None, "id" if ids else None, "a", "b", "c", "label"]
    lines = [",".join(h for h in header if h is not None)]
    for i, (row, label) in enumerate(zip(ROWS, LABELS, strict=True)):
        cells = [str(i) if index else None, f"img_{i:04d}.jpg" if ids else None, *map(repr, row), str(label)]
        lines.append(",".join(c for c in cells if c is not None))
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_pandas_default_index_is_read_as_the_row_index_and_said(tmp_path: Path, run: Run) -> None:
    csv = _pandas_csv(tmp_path / "frame.csv", index=True)
    result = run("compute", "-l", csv, "--target-column", "label", "-f", "json")
    assert result.exit_code == 0
    assert result.stderr == (
        f"ce-loss: read logits file '{csv}' (csv, 4 rows, header \"\",a,b,c,label): {INDEX_READ}; "
        "logits a,b,c; targets label\n"
    )
    out = json.loads(result.stdout)
    assert out["num_classes"] == 3
    assert out["read"][0]["index"] == ""
    assert_close(out["losses"], EXPECTED, rtol=1e-15)
    without = run("compute", "-l", _pandas_csv(tmp_path / "plain.csv"), "--target-column", "label", "-f", "json")
    assert INDEX_READ not in without.stderr
    assert json.loads(without.stdout)["losses"] == out["losses"]
    assert run("compute", "-l", csv, "--target-column", "label", "--no-warnings", "-q").stderr == ""


def test_a_targets_file_written_with_its_index_is_read_as_pandas_wrote_it(tmp_path: Path, run: Run) -> None:
    targets = tmp_path / "labels.csv"
    targets.write_text(",label\n" + "".join(f"{i},{t}\n" for i, t in enumerate(LABELS)))
    logits = ";".join(",".join(map(repr, row)) for row in ROWS)
    result = run("compute", "-l", logits, "-t", str(targets), "-f", "json")
    assert result.stderr == f"ce-loss: read targets file '{targets}' (csv, 4 rows, header \"\",label): {INDEX_READ}\n"
    assert_close(json.loads(result.stdout)["losses"], EXPECTED, rtol=1e-15)


def test_an_id_column_is_left_out_by_name_or_index(tmp_path: Path, run: Run) -> None:
    csv = _pandas_csv(tmp_path / "ids.csv", ids=True)
    for drop in ("id", "0"):
        result = run("compute", "-l", csv, "--target-column", "label", "--drop-columns", drop, "-f", "json")
        assert result.exit_code == 0, result.stderr
        assert_close(json.loads(result.stdout)["losses"], EXPECTED, rtol=1e-15)
    by_index = run("compute", "-l", csv, "--drop-columns", "id", "--target-column", "-1", "-q")
    assert_close(float(by_index.stdout), sum(EXPECTED) / 4, rtol=1e-15)  # -1 counts the columns that remain


def test_an_id_column_left_in_is_an_error_that_names_the_fix(tmp_path: Path, run: Run) -> None:
    csv = _pandas_csv(tmp_path / "ids.csv", ids=True)
    result = run("compute", "-l", csv, "--target-column", "label")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"ce-loss: error: logits file '{csv}': line 2, column 1: 'img_0000.jpg' is not a number "
        "(a column of text such as ids can be left out: --drop-columns id, or kept: --id-column id)\n"
    )


@pytest.mark.parametrize(
    ("drop", "message"),
    [
        ("idd", "has no column 'idd' to leave out; its columns are: 'id', 'a', 'b', 'c', 'label'"),
        ("7", "has no column '7' to leave out; its columns are: 'id', 'a', 'b', 'c', 'label'"),
    ],
)
def test_leaving_out_a_column_the_table_lacks_is_a_usage_error(
    drop: str, message: str, tmp_path: Path, run: Run
) -> None:
    csv = _pandas_csv(tmp_path / "ids.csv", ids=True)
    result = run("compute", "-l", csv, "--target-column", "label", "--drop-columns", drop)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"ce-loss: error: logits file '{csv}' {message}\n"


def test_columns_of_an_npy_table_are_left_out_by_index(tmp_path: Path, run: Run) -> None:
    table = np.column_stack([np.arange(4.0), np.array(ROWS)])
    np.save(tmp_path / "x.npy", table)
    result = run("compute", "-l", str(tmp_path / "x.npy"), "-t", "0,1,2,0", "--drop-columns", "0", "-f", "json")
    assert_close(json.loads(result.stdout)["losses"], EXPECTED, rtol=1e-15)
    named = run("compute", "-l", str(tmp_path / "x.npy"), "-t", "0,1,2,0", "--drop-columns", "id")
    assert named.exit_code == 2
    assert "has no column 'id' to leave out (it has no header: 4 columns)" in named.stderr


def test_multi_hot_targets_are_named_as_multi_label(run: Run) -> None:
    result = run("compute", "-l", "1,2,3;1,2,3", "-t", "1.0,0,1;0,1,0", "-q")
    assert result.exit_code == 0
    assert result.stderr == (
        "ce-loss: warning: 1 of 2 target rows hold several 1s (multi-hot, as multi-label data has): cross-entropy "
        "over classes takes each row as one distribution, and these sum to more than 1; multi-label targets need "
        "binary cross-entropy, which this is not: use --task binary\n"
    )
    expected = (mp_soft_loss([1, 2, 3], [1, 0, 1]) + mp_soft_loss([1, 2, 3], [0, 1, 0])) / 2
    assert_close(float(result.stdout), expected, rtol=1e-15)


def test_probability_targets_that_are_no_distribution_are_said(run: Run) -> None:
    result = run("compute", "-l", "1,2,3;1,2,3", "-t", "0.2,0.2,0.2;0.3,0.3,0.4", "-q")
    assert result.stderr == (
        "ce-loss: warning: 1 of 2 probability-target rows do not sum to 1 (the first sums to 0.6); they are used "
        "as given, as PyTorch does, so the loss is not a cross-entropy between distributions\n"
    )
    assert run("compute", "-l", "1,2,3;1,2,3", "-t", "0.2,0.3,0.5;0.3,0.3,0.4", "-q").stderr == ""


@pytest.mark.parametrize("logits", ["2.0;-1.0;0.3", "2.0,-1.0,0.3"])
def test_one_vector_of_logits_with_integer_targets_of_its_shape_is_refused_as_pytorch_does(
    logits: str, run: Run
) -> None:
    # PyTorch: F.cross_entropy(torch.tensor([2.0, -1.0, 0.3]), torch.tensor([1, 0, 1])) raises "Expected floating
    # point type for target with class probabilities, got Long".
    result = run("compute", "-l", logits, "-t", "1,0,1", "-q")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith("ce-loss: error: inline targets are integers of the logits' own shape (3,)")
    assert "--task binary" in result.stderr
    floats = run("compute", "-l", logits, "-t", "1.0,0,1", "-q")
    assert floats.stderr == (
        "ce-loss: warning: the logits are one vector of 3 values, read as one sample over 3 classes with the "
        "targets as its probabilities; if these are 3 samples with one logit each, that is binary classification: "
        "use --task binary\n"
    )
    assert_close(float(floats.stdout), mp_soft_loss([2.0, -1.0, 0.3], [1, 0, 1]), rtol=1e-15)
    assert run("compute", "-l", logits, "-t", "0.2,0.3,0.5", "-q").stderr == ""  # one sample, soft targets: fine


def test_a_comment_ending_the_first_row_leaves_it_data(tmp_path: Path, run: Run) -> None:
    (tmp_path / "a.csv").write_text("1,2,3,0 # c\n4,5,6,1\n7,8,9,2\n")
    result = run("compute", "--logits", str(tmp_path / "a.csv"), "--target-column", "-1", "--format", "json")
    assert warnings_in(result.stderr) == []
    out = json.loads(result.stdout)
    assert out["n_samples"] == 3
    assert out["mean"] == pytest.approx(1.4076059644443806, rel=1e-15)  # PyTorch's value for these 3 samples


def test_a_first_row_with_a_typo_is_not_dropped_without_a_word(tmp_path: Path, run: Run) -> None:
    path = tmp_path / "typo.csv"
    path.write_text("\u22121.5,2,3,0\n4,5,6,1\n7,8,9,2\n")
    result = run("compute", "-l", str(path), "--target-column", "-1", "-q")
    assert warnings_in(result.stderr) == [
        f"ce-loss: warning: logits file '{path}': its first row was read as a header, but it mixes numbers with "
        "'\u22121.5'; if that row is data, correct that cell"
    ]
    assert_close(float(result.stdout), (mp_loss([4, 5, 6], 1) + mp_loss([7, 8, 9], 2)) / 2, rtol=1e-15)


@pytest.mark.parametrize("cell", ["1_000", "\uff11", "\u22121"])
def test_numbers_numpy_does_not_read_are_named_by_line_and_column(cell: str, tmp_path: Path, run: Run) -> None:
    path = tmp_path / "x.csv"
    path.write_text(f"a,b\n1,2\n{cell},2\n")
    result = run("compute", "-l", str(path), "-t", "0,1")
    assert result.exit_code == 1
    assert result.stderr == f"ce-loss: error: logits file '{path}': line 3, column 1: {cell!r} is not a number\n"


def test_pandas_integer_column_names_are_a_header(tmp_path: Path, run: Run) -> None:
    path = tmp_path / "x.csv"
    path.write_text("0,1,2,label\n0.126,-0.132,0.64,0\n0.105,-0.536,0.362,1\n")
    result = run("compute", "-l", str(path), "--target-column", "label", "-f", "json")
    assert result.stderr == (
        f"ce-loss: read logits file '{path}' (csv, 2 rows, header 0,1,2,label): logits 0,1,2; targets label\n"
    )
    assert_close(json.loads(result.stdout)["losses"], EXPECTED[:2], rtol=1e-15)


def test_a_labelled_table_of_one_row_takes_its_target_column(tmp_path: Path, run: Run) -> None:
    path = tmp_path / "one.csv"
    path.write_text("a,b,c,label\n0.126,-0.132,0.64,0\n")
    result = run("compute", "-l", str(path), "--target-column", "label", "-f", "json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["shape"] == [1, 3]
    assert_close(out["losses"], EXPECTED[:1], rtol=1e-15)
