"""The worked example through every input form and every formula, checked against mpmath."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ce_cli import FORMULAS
from tests.conftest import (
    EXAMPLES,
    ORACLES,
    WORKED_INLINE,
    WORKED_LOGITS,
    WORKED_ROW,
    WORKED_TARGETS,
    Run,
    assert_close,
    case_names,
    mp_loss,
)


def expected_losses(formula: str, rows: Any = WORKED_LOGITS) -> list[float]:
    oracle = ORACLES[formula]
    return [oracle(row, t) for row, t in zip(rows, WORKED_TARGETS, strict=True)]


def npy_bytes(array: Any) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array))
    return buffer.getvalue()


def csv_text(rows: Any, delimiter: str = ",", header: bool = True) -> str:
    lines = [delimiter.join(f"c{i}" for i in range(len(rows[0])))] if header else []
    lines += [delimiter.join(repr(v) for v in row) for row in rows]
    return "\n".join(lines) + "\n"


def _write(folder: Path, name: str, content: str | bytes) -> str:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return str(path)


def input_forms(folder: Path) -> dict[str, tuple[list[str], bytes | None]]:
    """Name -> (arguments after `compute`, stdin bytes)."""
    npz_one = folder / "one.npz"
    np.savez(npz_one, np.array(WORKED_LOGITS))
    npz_many = folder / "many.npz"
    np.savez(npz_many, logits=np.array(WORKED_LOGITS), targets=np.array(WORKED_TARGETS))
    return {
        "inline": (["--logits", WORKED_INLINE, "--targets", "0,1,2"], None),
        "inline json": (["--logits", json.dumps(WORKED_LOGITS), "--targets", "[0, 1, 2]"], None),
        "csv with header": (
            ["--logits", str(EXAMPLES / "worked_logits.csv"), "--targets", str(EXAMPLES / "worked_targets.csv")],
            None,
        ),
        "csv without header": (
            ["--logits", _write(folder, "l.csv", csv_text(WORKED_LOGITS, header=False)), "--targets", "0,1,2"],
            None,
        ),
        "tsv": (["--logits", _write(folder, "l.tsv", csv_text(WORKED_LOGITS, "\t")), "--targets", "0,1,2"], None),
        "txt": (["--logits", _write(folder, "l.txt", csv_text(WORKED_LOGITS, " ", header=False)), "-t", "0,1,2"], None),
        "npy float64": (
            [
                "--logits",
                _write(folder, "l.npy", npy_bytes(WORKED_LOGITS)),
                "--targets",
                _write(folder, "t.npy", npy_bytes(WORKED_TARGETS)),
            ],
            None,
        ),
        "npz single array": (["--logits", str(npz_one), "--targets", "0,1,2"], None),
        "npz with keys": (["--logits", f"{npz_many}:logits", "--targets", f"{npz_many}:targets"], None),
        "stdin csv": (["--logits", "-", "--targets", "0,1,2"], csv_text(WORKED_LOGITS).encode()),
        "stdin tsv": (["--logits", "-", "--targets", "0,1,2"], csv_text(WORKED_LOGITS, "\t").encode()),
        "stdin npy": (["--logits", "-", "--targets", "0,1,2"], npy_bytes(WORKED_LOGITS)),
        "stdin targets": (["--logits", WORKED_INLINE, "--targets", "-"], b"target\n0\n1\n2\n"),
        "target column by name": (["--logits", str(EXAMPLES / "worked_labeled.csv"), "--target-column", "label"], None),
        "target column by index": (["--logits", str(EXAMPLES / "worked_labeled.csv"), "--target-column", "-1"], None),
        "whole-number float targets": (
            ["--logits", WORKED_INLINE, "--targets", _write(folder, "t.csv", "label\n0.0\n1.0\n2.0\n")],
            None,
        ),
        "unknown suffix sniffed as npy": (
            ["--logits", _write(folder, "logits.bin", npy_bytes(WORKED_LOGITS)), "-t", "0,1,2"],
            None,
        ),
    }


FORM_NAMES = case_names(input_forms)


@pytest.mark.parametrize("formula", FORMULAS)
@pytest.mark.parametrize("form", FORM_NAMES)
def test_worked_example_through_every_input_form(form: str, formula: str, tmp_path: Path, run: Run) -> None:
    args, stdin = input_forms(tmp_path)[form]
    result = run("compute", *args, "--formula", formula, "--format", "json", "--no-warnings", input=stdin)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    out = json.loads(result.stdout)
    assert out["shape"] == [3, 3]
    expected = expected_losses(formula)
    assert_close(out["losses"], expected, rtol=1e-15, atol=0)
    assert_close(out["mean"], sum(expected) / 3, rtol=1e-15)
    assert round(out["mean"], 4) == (1.2721 if formula == "naive" else 1.1142)


@pytest.mark.parametrize("formula", FORMULAS)
def test_bundled_float32_npy_matches_mpmath_on_its_float32_values(formula: str, run: Run) -> None:
    logits = np.load(EXAMPLES / "worked_logits.npy")
    assert logits.dtype == np.float32
    result = run(
        "compute",
        "-l",
        str(EXAMPLES / "worked_logits.npy"),
        "-t",
        str(EXAMPLES / "worked_targets.npy"),
        "--formula",
        formula,
        "-q",
        "--no-warnings",
    )
    assert result.exit_code == 0, result.stderr
    expected = expected_losses(formula, logits.tolist())
    assert_close(float(result.stdout), sum(expected) / 3, rtol=1e-15)


def test_unbatched_logits_with_one_target(run: Run) -> None:
    result = run("compute", "-l", ",".join(map(str, WORKED_ROW)), "-t", "1", "-f", "json", "--no-warnings")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["shape"] == [3]
    assert_close(out["losses"], mp_loss(WORKED_ROW, 1), rtol=1e-15)
