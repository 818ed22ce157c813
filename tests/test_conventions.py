"""``--convention``: every framework's own value (tests/data/framework_cases.json) through the CLI and the API.

The cases were computed by Keras 3.15.1 (jax and TensorFlow backends), TensorFlow 2.21, optax 0.2.8,
scikit-learn 1.9.1, transformers 5.25.0 and a transcription of fairseq's function; never by ce-loss.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ce_cli
from tests.conftest import DATA, Run

RAW = (DATA / "framework_cases.json").read_bytes()
CASES: list[dict[str, Any]] = json.loads(RAW)["cases"]
SHA256 = "9adbe00f204ec3e1b2640cac50a52dbb3e1d8ee153cd28336540ecdaa9ac016c"
# Keras's jax backend computed BinaryCrossentropy in float32 in these cases (the shared file gives them no
# rtol): ce-loss's float64 value is within 1e-7 of each, and every other case matches at 1e-9.
FLOAT32_INSIDE = {c["id"] for c in CASES if c["id"].startswith("keras-binary-")}


def rtol(case: dict[str, Any]) -> float:
    return float(case.get("rtol") or (1e-6 if case["id"] in FLOAT32_INSIDE else 1e-9))


def _option(args: list[str], name: str, default: str | None = None) -> str | None:
    return args[args.index(name) + 1] if name in args else default


def test_the_copy_is_the_shared_file() -> None:
    assert hashlib.sha256(RAW).hexdigest() == SHA256
    assert len(CASES) == 370


def _files(tmp_path: Path, case: dict[str, Any]) -> list[str]:
    np.save(tmp_path / "x.npy", np.array(case["logits"], dtype=np.float64))
    targets = np.array(case["targets"])
    np.save(tmp_path / "t.npy", targets.astype(np.int64 if targets.dtype.kind in "iu" else np.float64))
    args = ["-l", str(tmp_path / "x.npy"), "-t", str(tmp_path / "t.npy")]
    if case.get("sample_weight") is not None:
        np.save(tmp_path / "sw.npy", np.array(case["sample_weight"], dtype=np.float64))
        args += ["--sample-weight", str(tmp_path / "sw.npy")]
    if case.get("weight") is not None:
        np.save(tmp_path / "w.npy", np.array(case["weight"], dtype=np.float64))
        args += ["--weight", str(tmp_path / "w.npy")]
    return args


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_the_command_line_gives_each_frameworks_value(run: Run, tmp_path: Path, case: dict[str, Any]) -> None:
    result = run("compute", *_files(tmp_path, case), *case["args"], "-q", "--no-warnings")
    assert result.exit_code == 0, result.stderr
    assert float(result.stdout) == pytest.approx(case["expected"], rel=rtol(case), abs=1e-12)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_the_api_gives_each_frameworks_value(case: dict[str, Any]) -> None:
    args = case["args"]
    x = np.array(case["logits"], dtype=np.float64)
    targets = np.array(case["targets"])
    common: dict[str, Any] = {
        "convention": _option(args, "--convention"),
        "formula": _option(args, "--formula", "cross_entropy"),
        "reduction": _option(args, "--reduction", "mean"),
        "sample_weight": case.get("sample_weight"),
    }
    smoothing = float(_option(args, "--label-smoothing", "0") or 0)
    if _option(args, "--task") == "binary":
        got = ce_cli.binary_cross_entropy_with_logits(
            x, targets.astype(np.float64), label_smoothing=smoothing, **common
        )
    else:
        got = ce_cli.cross_entropy(
            x, targets if targets.dtype.kind in "iu" else targets.astype(np.float64),
            weight=case.get("weight"), label_smoothing=smoothing,
            ignore_index=int(_option(args, "--ignore-index", "-100") or -100),
            class_axis=int(_option(args, "--class-axis", "1") or 1), **common,
        )  # fmt: skip
    assert got == pytest.approx(case["expected"], rel=rtol(case), abs=1e-12)


def test_the_float32_cases_are_float32_close() -> None:
    """The cases given a looser tolerance above are float32-close and no more: ce-loss's float64 value
    differs from each by less than 1e-7, and from most by more than 1e-9 (so the loosening hides nothing else)."""
    assert len(FLOAT32_INSIDE) == 28
    differences = []
    for case in (c for c in CASES if c["id"] in FLOAT32_INSIDE):
        args = case["args"]
        got = ce_cli.binary_cross_entropy_with_logits(
            np.array(case["logits"], dtype=np.float64), np.array(case["targets"], dtype=np.float64),
            convention=str(_option(args, "--convention")), formula=str(_option(args, "--formula", "cross_entropy")),
            label_smoothing=float(_option(args, "--label-smoothing", "0") or 0),
        )  # fmt: skip
        differences.append(abs(float(got) / case["expected"] - 1))
    assert max(differences) < 1e-7
    assert sum(d > 1e-9 for d in differences) >= 20


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (
            ["--convention", "keras", "--label-smoothing", "0.1"],
            "--label-smoothing is not an option of --convention keras",
        ),
        (["--convention", "optax", "--weight", "1,2,3"], "--weight is not an option of --convention optax"),
        (["--convention", "sklearn", "--label-smoothing", "0.1"], "sklearn"),
        (["--convention", "jax"], "convention 'jax' is not one of"),
    ],
)
def test_options_a_framework_does_not_have_are_usage_errors(run: Run, args: list[str], words: str) -> None:
    result = run("compute", "-l", "[[0.2,0.5,0.3],[0.1,0.1,0.8]]", "-t", "1,2", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert words in result.stderr


def test_pytorch_with_sample_weights_says_what_it_does(run: Run) -> None:
    result = run("compute", "-l", "[[0.2,0.5,0.3],[0.1,0.1,0.8]]", "-t", "1,2", "--sample-weight", "1,3", "-q")
    assert result.exit_code == 0
    per = [float(ce_cli.cross_entropy([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]], [1, 2], reduction="none")[i]) for i in (0, 1)]
    assert float(result.stdout) == pytest.approx((per[0] + 3 * per[1]) / 4, rel=1e-14)
    assert "sum(w * loss) / sum(w)" in result.stderr


def test_compare_conventions_names_every_framework(run: Run) -> None:
    result = run("compare", "-l", "[[0.2,0.5,0.3],[0.1,0.1,0.8]]", "-t", "1,2", "--conventions", "-f", "json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)["conventions"]
    assert [r["convention"] for r in rows][:3] == ["pytorch", "keras", "keras-tf"]
    assert rows[0]["difference_to_pytorch"] == 0.0
    table = run(
        "compare", "-l", "[[0.2,0.5,0.3],[0.1,0.1,0.8]]", "-t", "1,2", "--conventions", "--sample-weight", "1,3"
    )
    assert "Keras divides the weighted sum by N = 2" in " ".join(table.stdout.replace("│", " ").split())


def test_explain_shows_one_sample_under_a_convention(run: Run) -> None:
    result = run("explain", "-l", "[[0.2,0.5,0.3],[0.1,0.1,0.8]]", "-t", "1,2", "--convention", "fairseq",
                 "--label-smoothing", "0.1", "-s", "1", "-f", "json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["convention"] == "fairseq"
    assert any("V - 1" in note for note in out["notes"])


@pytest.mark.parametrize("args", [["--convention", "sklearn"], ["--convention", "keras", "--formula", "naive"]])
def test_logits_where_a_framework_takes_probabilities_are_refused(run: Run, args: list[str]) -> None:
    result = run("compute", "-l", "[[2.0,-1.0,0.5],[0.1,3.0,-2.0]]", "-t", "0,1", *args)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "outside [0, 1]; for logits use --formula cross_entropy" in result.stderr


@pytest.mark.parametrize("args", [["-o", "losses.npy"], ["--worst", "2"], ["--by-class"]])
def test_options_whose_output_a_convention_does_not_write_are_refused(
    run: Run, tmp_path: Path, args: list[str]
) -> None:
    if args[0] == "-o":
        args = ["-o", str(tmp_path / args[1])]
    result = run("compute", "-l", "[[0.2,0.5,0.3],[0.1,0.1,0.8]]", "-t", "1,2", "--convention", "keras", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "is not an option with --convention" in result.stderr
    assert not (tmp_path / "losses.npy").exists()
