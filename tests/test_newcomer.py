"""A newcomer's terminal at 80 columns: compare and explain fit with every digit, the often-copied loop's 3.8162
is explained where it shows, the binary summary echoes its weights, and a note about nothing wrong is said once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from typer.testing import CliRunner

from ce_cli.cli import app
from tests.conftest import EXAMPLES

WORKED = ["-l", str(EXAMPLES / "worked_logits.csv"), "-t", str(EXAMPLES / "worked_targets.csv")]


def at_80(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "80", "TERMINAL_WIDTH": "80"})
    assert result.exit_code == 0, result.stderr
    assert "a table needs" not in result.stderr
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    return result


def flat(text: str) -> str:
    return " ".join(text.split())


def test_compare_fits_80_columns_and_explains_the_copied_loop() -> None:
    out = at_80("compare", *WORKED).stdout
    assert "0.768148" in out  # naive's largest difference, in its diff column
    assert "naive against cross_entropy: differs by up to 0.77" in flat(out)
    assert (
        "the often-copied loop adds -log q[t] once per class, then divides by N: it prints C · naive = "
        "3 · 1.272071 = 3.816214; naive's sum is the same number here only because N = C = 3"
    ) in flat(out)
    two = at_80("compare", "-l", "0.1234,0.5555,0.3211;0.2,0.3,0.5", "-t", "0,1").stdout
    assert "C · naive = 3 · " in flat(two)
    assert "N = C" not in two  # two samples of three classes: the sum is not the loop's number


def test_explain_fits_80_columns_and_gives_the_loop_for_its_sample() -> None:
    out = at_80("explain", *WORKED).stdout
    assert "C · naive = 3 · 2.092324168 = 6.276972503 for this sample" in flat(out)
    assert "│   0 ◀ │ 0.1234 │ -0.4321 │" in out  # the per-class working, every digit of x and x - m


def test_the_binary_summary_fits_and_echoes_its_weights() -> None:
    args = ["-l", "0.5,-1;2,0.3", "-t", "1,0;1,1", "--task", "binary", "--weight", "1,2;3,4", "--pos-weight", "2,3"]
    out = at_80("compute", *args).stdout
    assert "n positive labels" in out
    assert "pos_weight                     per label: 2, 3" in out
    assert "weight                     per element, 1 to 4" in out
    single = at_80("compute", "-l", "0.5,-1", "-t", "1,0", "--task", "binary", "--pos-weight", "2").stdout
    assert "pos_weight  " in single
    assert "2 for every element" in single


def test_the_pandas_index_note_is_said_once_a_run_and_not_with_q(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    logits = tmp_path / "logits.csv"
    targets = tmp_path / "targets.csv"
    logits.write_text(",a,b,c\n" + "".join(f"{i},{','.join(map(str, rng.random(3)))}\n" for i in range(4)))
    targets.write_text(",label\n" + "".join(f"{i},{i % 3}\n" for i in range(4)))
    result = CliRunner().invoke(app, ["compute", "-l", str(logits), "-t", str(targets), "--max-rows", "0"])
    assert result.exit_code == 0
    lines = result.stderr.splitlines()
    assert len(lines) == 2  # what was read from each file
    assert sum("as pandas and R write the row index" in line for line in lines) == 1
    assert "first column read as the row index" in lines[1]
    quiet = CliRunner().invoke(app, ["compute", "-l", str(logits), "-t", str(targets), "-q"])
    assert quiet.exit_code == 0
    assert "row index" not in quiet.stderr  # what was read is still said; the note about nothing wrong is not


def test_every_family_teaches_within_80_columns() -> None:
    over = ["-l", str(EXAMPLES / "overconfident.npy")]
    teacher = ["--teacher", str(EXAMPLES / "overconfident_scaled.npy")]
    labels = ["-t", str(EXAMPLES / "overconfident_labels.npy")]
    binary = ["--task", "binary", "-l", str(EXAMPLES / "binary_scores.csv"), "--target-column", "label"]
    for args in (
        ["compare", "--task", "distill", *over, *teacher],
        ["explain", "--task", "distill", *over, *teacher, *labels],
        ["compare", *binary],
        ["explain", *binary],
        ["compare", *WORKED, "--conventions"],
        ["diff", "-l", str(EXAMPLES / "overconfident_scaled.npy"), "--baseline", str(EXAMPLES / "overconfident.npy"),
         *labels, "--by-class", "--worst", "3"],
    ):  # fmt: skip
        at_80(*args)  # every line within 80 columns, and no note that a table did not fit


def test_the_quantiles_keep_each_number_beside_its_name_at_80_columns() -> None:
    args = ["-l", str(EXAMPLES / "overconfident.npy"), "-t", str(EXAMPLES / "overconfident_labels.npy")]
    out = at_80("compute", *args, "--max-rows", "0").stdout.splitlines()
    first = next(i for i, line in enumerate(out) if line.startswith("loss quantiles: "))
    assert out[first].endswith("p90 5.620303")
    assert out[first + 1].lstrip().startswith("p99 ")  # the rest on a line of its own, aligned
    assert "max 12.500660" in out[first + 1]
