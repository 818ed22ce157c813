"""A corpus of real exports: files as pandas, polars, numpy, R and spreadsheets write them.

Each case asserts the exact number (mpmath on the arrays the file was written from, the same
definition as ``torch.nn.functional.cross_entropy``) or the exact error, never just "runs".
pandas writes its files with its own ``to_csv``; polars, R and Excel are written byte for byte as
their documentation specifies (polars' ``DataFrame.write_csv``, R's ``write.csv``, a UTF-8 CSV with a
byte-order mark and CRLF as Excel saves it).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import Run, assert_close, mp_loss, mp_naive, warnings_in

RNG = np.random.default_rng(19)
Z = np.round(RNG.standard_normal((6, 4)) * 2, 6)  # logits, exact in their decimal spelling
Y = np.array([0, 3, 1, 2, 0, 1])  # the first target is 0: a first row that looks like pandas' header "0"
MEAN = float(np.mean([mp_loss(row, t) for row, t in zip(Z.tolist(), Y.tolist(), strict=True)]))


def _mean(result_stdout: str) -> float:
    return float(result_stdout)


def _scored(run: Run, *args: str) -> float:
    result = run("compute", *args, "-q")
    assert result.exit_code == 0, result.stderr
    assert warnings_in(result.stderr) == []
    return _mean(result.stdout)


# -- pandas (the real writer) ------------------------------------------------------------------------


@pytest.mark.parametrize("index", [False, True])
def test_pandas_range_index_header_and_series_header(index: bool, tmp_path: Path, run: Run) -> None:
    # pandas: DataFrame(Z).to_csv(index=False) writes the header 0,1,2,3; Series(y).to_csv(index=False) writes 0.
    pd.DataFrame(Z).to_csv(tmp_path / "z.csv", index=index)
    pd.Series(Y).to_csv(tmp_path / "y.csv", index=index)
    result = run("compute", "-l", str(tmp_path / "z.csv"), "-t", str(tmp_path / "y.csv"), "-q")
    assert result.exit_code == 0
    assert_close(float(result.stdout), MEAN, rtol=1e-14)
    header = '"",0,1,2,3' if index else "0..3, pandas' default column names"
    assert f"(csv, 6 rows, header {header})" in result.stderr


def test_pandas_without_header_pairs_a_first_target_of_0_as_data(tmp_path: Path, run: Run) -> None:
    pd.DataFrame(Z).to_csv(tmp_path / "z.csv", index=False)  # header 0,1,2,3
    np.savetxt(tmp_path / "y.csv", Y, fmt="%d")  # no header: its first row, 0, is the first target
    result = run("compute", "-l", str(tmp_path / "z.csv"), "-t", str(tmp_path / "y.csv"), "-q")
    assert_close(float(result.stdout), MEAN, rtol=1e-14)
    assert (
        f"ce-loss: read targets file '{tmp_path / 'y.csv'}' (csv, 6 rows): its first row (0) is data, "
        "not pandas' column names: the other input has a row more\n"
    ) in result.stderr
    pd.DataFrame(Z).to_csv(tmp_path / "plain.csv", index=False, header=False)
    assert_close(_scored(run, "-l", str(tmp_path / "plain.csv"), "-t", str(tmp_path / "y.csv")), MEAN, rtol=1e-14)


@pytest.mark.parametrize("label_dtype", [np.int64, np.float64])
def test_pandas_named_columns_with_a_label_column(label_dtype: type, tmp_path: Path, run: Run) -> None:
    frame = pd.DataFrame(Z, columns=["cat", "dog", "bird", "fish"]).assign(label=Y.astype(label_dtype))
    frame.to_csv(tmp_path / "f.csv", index=False)  # float labels are written 0.0, 3.0, ...
    assert_close(_scored(run, "-l", str(tmp_path / "f.csv"), "--target-column", "label"), MEAN, rtol=1e-14)


def test_a_fold_column_is_refused_and_each_fix_gives_the_number(tmp_path: Path, run: Run) -> None:
    frame = pd.DataFrame(Z, columns=["l0", "l1", "l2", "l3"]).assign(label=Y)
    frame.insert(0, "fold", [0, 1, 2, 0, 1, 2])
    path = str(tmp_path / "f.csv")
    frame.to_csv(path, index=False)
    refused = run("compute", "-l", path, "--target-column", "label")
    assert (refused.exit_code, refused.stdout) == (1, "")
    assert refused.stderr == (
        f"ce-loss: error: logits file '{path}': column 'fold' would be read as a logit, but its name says it holds "
        "identifiers; leave it out with --drop-columns fold, or keep it as the samples' ids with --id-column fold "
        "(if it is a logit, name the logit columns with --logit-columns)\n"
    )
    for fix in (["--drop-columns", "fold"], ["--id-column", "fold"], ["--logit-columns", "l0,l1,l2,l3"]):
        assert_close(_scored(run, "-l", path, "--target-column", "label", *fix), MEAN, rtol=1e-14)


def test_an_unnamed_integer_column_among_logits_is_refused(tmp_path: Path, run: Run) -> None:
    table = np.column_stack([np.arange(6) + 1000, Z])  # a sample number written without a name
    path = tmp_path / "ids.csv"
    np.savetxt(path, table, delimiter=",", fmt=["%d"] + ["%.6f"] * 4)
    result = run("compute", "-l", str(path), "-t", ",".join(map(str, Y)))
    assert result.exit_code == 1
    assert result.stderr == (
        f"ce-loss: error: logits file '{path}': column '0' would be read as a logit, but it holds only whole "
        "numbers while the other logit columns do not; leave it out with --drop-columns 0, or keep it as the "
        "samples' ids with --id-column 0 (if it is a logit, name the logit columns with --logit-columns)\n"
    )


def test_a_genuine_table_of_integer_logits_is_read(tmp_path: Path, run: Run) -> None:
    logits = np.array([[3, -1, 0], [1, 2, 5], [-4, 0, 2]])
    path = tmp_path / "ints.csv"
    np.savetxt(path, logits, delimiter=",", fmt="%d")
    expected = np.mean([mp_loss(row, t) for row, t in zip(logits.tolist(), [0, 2, 1], strict=True)])
    assert_close(_scored(run, "-l", str(path), "-t", "0,2,1"), expected, rtol=1e-14)


def test_a_reference_class_logit_of_zero_needs_the_explicit_choice(tmp_path: Path, run: Run) -> None:
    frame = pd.DataFrame(Z[:, 1:], columns=["b", "c", "d"])
    frame.insert(0, "a", 0)  # a reference class pinned at logit 0: integers beside real logits
    frame.to_csv(tmp_path / "r.csv", index=False)
    logits = np.column_stack([np.zeros(6), Z[:, 1:]])
    expected = float(np.mean([mp_loss(row, t) for row, t in zip(logits.tolist(), Y.tolist(), strict=True)]))
    targets = ",".join(map(str, Y))
    assert run("compute", "-l", str(tmp_path / "r.csv"), "-t", targets).exit_code == 1
    chosen = _scored(run, "-l", str(tmp_path / "r.csv"), "-t", targets, "--logit-columns", "a,b,c,d")
    assert_close(chosen, expected, rtol=1e-14)


def test_probabilities_as_predict_proba_writes_them(tmp_path: Path, run: Run) -> None:
    # scikit-learn's predict_proba gives (N, C) rows of probabilities; written with pandas as users do.
    probabilities = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    pd.DataFrame(probabilities, columns=[f"p{c}" for c in range(4)]).assign(y=Y).to_csv(tmp_path / "p.csv")
    expected = float(np.mean([mp_naive(row, t) for row, t in zip(probabilities.tolist(), Y.tolist(), strict=True)]))
    naive = _scored(run, "-l", str(tmp_path / "p.csv"), "--target-column", "y", "--formula", "naive")
    assert_close(naive, expected, rtol=1e-14)


# -- the other writers, byte for byte ----------------------------------------------------------------


def _lines(rows: np.ndarray, labels: np.ndarray | None = None) -> list[str]:
    return [
        ",".join([*(repr(float(v)) for v in row), *([] if labels is None else [str(labels[i])])])
        for i, row in enumerate(rows)
    ]


def test_polars_write_csv(tmp_path: Path, run: Run) -> None:
    # polars: pl.DataFrame(Z).with_columns(label=Y).write_csv() names columns column_0.. and writes floats
    # in their shortest round-trip spelling.
    text = "column_0,column_1,column_2,column_3,label\n" + "\n".join(_lines(Z, Y)) + "\n"
    (tmp_path / "pl.csv").write_bytes(text.encode())
    assert_close(_scored(run, "-l", str(tmp_path / "pl.csv"), "--target-column", "label"), MEAN, rtol=1e-14)


@pytest.mark.parametrize("comments", ["# ", ""])
def test_numpy_savetxt_with_a_header(comments: str, tmp_path: Path, run: Run) -> None:
    np.savetxt(tmp_path / "z.csv", Z, delimiter=",", header="a,b,c,d", comments=comments)
    assert_close(_scored(run, "-l", str(tmp_path / "z.csv"), "-t", ",".join(map(str, Y))), MEAN, rtol=1e-14)


def test_r_write_csv(tmp_path: Path, run: Run) -> None:
    # R: write.csv(df) quotes the header, writes the row names first under an empty "" header, quoted.
    lines = ['"","V1","V2","V3","V4","label"']
    lines += [f'"{i + 1}",{line}' for i, line in enumerate(_lines(Z, Y))]
    (tmp_path / "r.csv").write_text("\n".join(lines) + "\n")
    result = run("compute", "-l", str(tmp_path / "r.csv"), "--target-column", "label", "-q")
    assert_close(float(result.stdout), MEAN, rtol=1e-14)
    assert 'header "",V1,V2,V3,V4,label): logits V1' in result.stderr  # -q: the row index, nothing wrong, unsaid
    table = run("compute", "-l", str(tmp_path / "r.csv"), "--target-column", "label", "--max-rows", "0")
    assert 'header "",V1,V2,V3,V4,label): first column (unnamed' in table.stderr


def test_excel_utf8_csv_with_byte_order_mark_and_crlf(tmp_path: Path, run: Run) -> None:
    text = "\r\n".join(["x0,x1,x2,x3,label", *_lines(Z, Y)]) + "\r\n"
    (tmp_path / "excel.csv").write_bytes(b"\xef\xbb\xbf" + text.encode())
    result = run("compute", "-l", str(tmp_path / "excel.csv"), "--target-column", "label", "-f", "json")
    out = json.loads(result.stdout)
    assert out["read"][0]["header"] == ["x0", "x1", "x2", "x3", "label"]  # the mark is not part of 'x0'
    assert_close(out["mean"], MEAN, rtol=1e-14)


def test_semicolons_with_decimal_commas_are_read_as_written(tmp_path: Path, run: Run) -> None:
    # pandas: to_csv(sep=";", decimal=",") writes what a spreadsheet in a decimal-comma locale saves.
    pd.DataFrame(Z).assign(label=Y).to_csv(tmp_path / "eu.csv", sep=";", decimal=",", index=False)
    result = run("compute", "-l", str(tmp_path / "eu.csv"), "--target-column", "label", "-q")
    assert_close(float(result.stdout), MEAN, rtol=1e-14)
    assert "(csv (;-separated) with decimal commas, 6 rows" in result.stderr


def test_thousands_separators_beside_decimal_commas_are_refused(tmp_path: Path, run: Run) -> None:
    path = tmp_path / "eu.csv"
    path.write_text("a;b;label\n1.234,5;0,5;0\n2,0;1.000,25;1\n")
    result = run("compute", "-l", str(path), "--target-column", "label")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"ce-loss: error: logits file '{path}' is ;-separated with decimal commas and '.' between thousands "
        "('1.234,'): ce-loss does not guess at thousands separators; export the numbers without them\n"
    )


# -- targets, hints, options -------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["npy", "csv"])
def test_integer_multi_hot_targets_are_refused_as_pytorch_refuses_them(how: str, tmp_path: Path, run: Run) -> None:
    # PyTorch: F.cross_entropy(logits, long targets of the logits' shape) raises "Expected floating point type
    # for target with class probabilities, got Long".
    multi_hot = np.array([[1, 0, 1, 0], [0, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 1], [1, 0, 0, 0], [0, 1, 1, 0]])
    if how == "npy":
        np.save(tmp_path / "t.npy", multi_hot)
    else:
        np.savetxt(tmp_path / "t.csv", multi_hot, fmt="%d", delimiter=",")
    np.save(tmp_path / "z.npy", Z)
    result = run("compute", "-l", str(tmp_path / "z.npy"), "-t", str(tmp_path / f"t.{how}"))
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"ce-loss: error: targets file '{tmp_path / f't.{how}'}' are integers of the logits' own shape (6, 4), "
        'which PyTorch takes as class probabilities and refuses in an integer type ("Expected floating point type '
        'for target with class probabilities, got Long"); multi-label 0/1 targets take binary cross-entropy: '
        "--task binary; probability targets are written as floats (1.0, 0.0, or saved in a float dtype)\n"
    )
    binary = run("compute", "-l", str(tmp_path / "z.npy"), "-t", str(tmp_path / f"t.{how}"), "--task", "binary")
    assert binary.exit_code == 0


def test_text_labels_in_the_target_column_are_never_advised_away(tmp_path: Path, run: Run) -> None:
    frame = pd.DataFrame(Z[:, :3], columns=["cat", "dog", "bird"]).assign(label=["cat", "bird"] * 3)
    frame.to_csv(tmp_path / "s.csv", index=False)
    result = run("compute", "-l", str(tmp_path / "s.csv"), "--target-column", "label")
    assert result.exit_code == 1
    assert "--drop-columns" not in result.stderr
    assert result.stderr.endswith(
        "the targets are text labels, and ce-loss takes class indices 0..C-1 in the logit columns' order; "
        "map the labels to indices first (pandas: df[col].astype('category').cat.codes)\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--logits", "a.npy", "--logits", "b.npy"], "--logits (-l) was given more than once"),
        (["-l", "a.npy", "-t", "0", "-f", "json", "--format", "csv"], "--format (-f) was given more than once"),
        (["-l", "a.npy", "-t", "0", "-q", "--quiet"], "--quiet (-q) was given more than once: give it once"),
    ],
)
def test_a_repeated_option_is_a_usage_error(args: list[str], message: str, run: Run) -> None:
    result = run("compute", *args)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(f"ce-loss: error: {message}")


def test_header_and_no_header_decide(tmp_path: Path, run: Run) -> None:
    np.savetxt(tmp_path / "z.csv", np.vstack([[9.0, 9.0, 9.0, 9.0], Z]), delimiter=",")  # a first row of junk
    targets = ",".join(map(str, Y))
    assert_close(_scored(run, "-l", str(tmp_path / "z.csv"), "-t", targets, "--header"), MEAN, rtol=1e-14)
    (tmp_path / "n.csv").write_text("0,1,2,3\n" + "\n".join(_lines(Z[1:])) + "\n")
    kept = run("compute", "-l", str(tmp_path / "n.csv"), "-t", ",".join(map(str, Y)), "--no-header", "-q")
    expected = np.mean([mp_loss(row, t) for row, t in zip([[0, 1, 2, 3], *Z[1:].tolist()], Y.tolist(), strict=True)])
    assert_close(float(kept.stdout), expected, rtol=1e-14)


def test_ids_replace_the_index_everywhere(tmp_path: Path, run: Run) -> None:
    frame = pd.DataFrame(Z, columns=["a", "b", "c", "d"]).assign(label=Y)
    frame.insert(0, "sample_id", [f"s{i}" for i in range(6)])
    frame.to_csv(tmp_path / "f.csv", index=False)
    base = ["-l", str(tmp_path / "f.csv"), "--target-column", "label", "--id-column", "sample_id"]
    losses = [mp_loss(row, t) for row, t in zip(Z.tolist(), Y.tolist(), strict=True)]
    worst = int(np.argmax(losses))
    out = json.loads(run("compute", *base, "-f", "json", "--worst", "1").stdout)
    assert out["ids"] == [f"s{i}" for i in range(6)]
    assert out["worst"][0]["id"] == f"s{worst}"
    assert out["read"][0]["ids"] == "sample_id"
    assert out["read"][0]["logits"] == ["a", "b", "c", "d"]
    csv_lines = run("compute", *base, "-f", "csv").stdout.splitlines()
    assert csv_lines[0].startswith("id,target,")
    assert csv_lines[1].startswith("s0,0,")
    run("compute", *base, "-o", str(tmp_path / "out.csv"), "-q")
    assert (tmp_path / "out.csv").read_text().splitlines()[3].startswith("s2,1,")
    table = run("compute", *base, "--worst", "1").stdout
    assert f"s{worst} " in table


def test_worst_over_shards_names_the_file_and_row(tmp_path: Path, run: Run) -> None:
    for i, rows in enumerate((slice(0, 2), slice(2, 6))):
        np.save(tmp_path / f"z-{i}.npy", Z[rows])
        np.save(tmp_path / f"y-{i}.npy", Y[rows])
    losses = [mp_loss(row, t) for row, t in zip(Z.tolist(), Y.tolist(), strict=True)]
    worst = int(np.argmax(losses))
    file, row = (0, worst) if worst < 2 else (1, worst - 2)
    result = run(
        "compute", "-l", str(tmp_path / "z-*.npy"), "-t", str(tmp_path / "y-*.npy"), "--worst", "1", "-f", "csv"
    )
    out = json.loads(
        run(
            "compute", "-l", str(tmp_path / "z-*.npy"), "-t", str(tmp_path / "y-*.npy"), "--worst", "1", "-f", "json"
        ).stdout
    )
    assert out["worst"][0]["id"] == f"{tmp_path / f'z-{file}.npy'}:{row}"
    assert result.stdout.splitlines()[worst + 1].startswith(f"{tmp_path / f'z-{file}.npy'}:{row},")


def test_npy_pipelines_stay_quiet(tmp_path: Path, run: Run) -> None:
    np.save(tmp_path / "z.npy", Z)
    np.save(tmp_path / "y.npy", Y)
    result = run("compute", "-l", str(tmp_path / "z.npy"), "-t", str(tmp_path / "y.npy"), "-q")
    assert result.stderr == ""
    assert_close(float(result.stdout), MEAN, rtol=1e-14)
    out = json.loads(run("compute", "-l", str(tmp_path / "z.npy"), "-t", str(tmp_path / "y.npy"), "-f", "json").stdout)
    assert [r["form"] for r in out["read"]] == ["npy", "npy"]
    assert out["read"][0]["shape"] == [6, 4]
    assert "ids" not in out


def _on_a_terminal(*args: str) -> str:
    """What a terminal shows: ce-loss with stdout and stderr both on one pseudo-terminal, read to the end."""
    import os
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    process = subprocess.Popen(
        [sys.executable, "-m", "ce_cli", *args], stdin=subprocess.DEVNULL, stdout=follower, stderr=follower, env=env
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process ended
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode()


def test_on_a_terminal_the_warning_about_the_number_is_the_last_line(tmp_path: Path) -> None:
    probabilities = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)  # probabilities scored as logits
    np.save(tmp_path / "p.npy", np.tile(probabilities, (7, 1)))  # a table longer than the screen's first lines
    np.save(tmp_path / "y.npy", np.tile(Y, 7))
    screen = _on_a_terminal("compute", "-l", str(tmp_path / "p.npy"), "-t", str(tmp_path / "y.npy"))
    lines = [line for line in screen.replace("\r", "").splitlines() if line.strip()]
    assert lines[-1].startswith("ce-loss: warning: the logits look like probabilities")
    assert any(line.startswith("mean") for line in lines[:-1])


def test_one_column_with_decimal_commas_and_no_semicolons_is_refused(tmp_path: Path, run: Run) -> None:
    # A spreadsheet in a decimal-comma locale saves one column of probabilities as 0,5 / 0,05: with no ';'
    # in the file its commas would split each number into two whole-number cells.
    path = tmp_path / "one.csv"
    path.write_text("0,5\n0,25\n0,05\n0,75\n")
    result = run("compute", "--task", "binary", "-l", str(path), "-t", "1,0,0,1", "--formula", "naive")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"ce-loss: error: logits file '{path}': a cell '05' (a number with a leading zero) in a comma-separated "
        "table of whole numbers looks like decimal commas split into cells ('0,05'); export it with '.' as the "
        "decimal mark, or with ';' between cells\n"
    )


def test_explain_names_the_sample_by_its_id(tmp_path: Path, run: Run) -> None:
    frame = pd.DataFrame(Z, columns=["a", "b", "c", "d"]).assign(label=Y)
    frame.insert(0, "key", [f"k{i}" for i in range(6)])
    frame.to_csv(tmp_path / "f.csv", index=False)
    args = ["-l", str(tmp_path / "f.csv"), "--target-column", "label", "--id-column", "key", "-s", "2"]
    result = run("explain", *args)
    assert result.stdout.startswith("sample 2 (id k2): target class 1, C = 4 classes\n")


def test_text_in_the_only_logit_column_gets_no_advice_to_drop_it(tmp_path: Path, run: Run) -> None:
    path = tmp_path / "one.csv"
    path.write_text("score,label\nhigh,1\nlow,0\n")
    result = run("compute", "--task", "binary", "-l", str(path), "--target-column", "label")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"ce-loss: error: logits file '{path}': line 2, column 1: 'high' is not a number\n"


def test_a_target_column_also_left_out_is_a_usage_error(tmp_path: Path, run: Run) -> None:
    # Found by the fuzz test: a target column named in --drop-columns too.
    path = tmp_path / "t.csv"
    path.write_text("a,b,label\n0.5,1.5,0\n2.0,1.0,1\n")
    result = run("compute", "-l", str(path), "--target-column", "label", "--drop-columns", "label")
    assert (result.exit_code, result.stdout) == (2, "")
    assert (
        result.stderr
        == f"ce-loss: error: logits file '{path}': column 'label' is taken as the targets and also left out\n"
    )
