"""Calibration against values torchmetrics 1.9 and scikit-learn 1.9.1 computed (tests/data/calibration_cases.json,
with the script that made them): ECE, RMSCE and MCE as torchmetrics' CalibrationError gives them, the Brier score as
sklearn's brier_score_loss, the equal-mass bins as sklearn's calibration_curve, and PyTorch's float32 and float64
linspace, which the uniform bins' edges are."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ce_cli.calibration.bins import torch_boundaries
from tests.conftest import DATA, Run

REFERENCE: dict[str, Any] = json.loads((DATA / "calibration_cases.json").read_text())
CASES: list[dict[str, Any]] = REFERENCE["cases"]
# torchmetrics sums the bins in float32: its ECE, RMSCE and MCE are within a few float32 ulp of the exact values
TORCHMETRICS_ABS = 2e-6


def test_there_are_enough_cases_of_every_kind() -> None:
    assert len(CASES) >= 40
    names = " ".join(case["name"] for case in CASES)
    for kind in (
        "edges",
        "below_edges",
        "all_correct",
        "all_wrong",
        "empty_bins",
        "weighted",
        "ignore_index",
        "binary",
    ):
        assert kind in names


def calibration_json(run: Run, tmp_path: Path, case: dict[str, Any], *extra: str) -> dict[str, Any]:
    """``compute --formula naive --calibration -f json`` on the case's probabilities (``naive``: taken as given)."""
    probabilities = np.array(case["probabilities"], dtype=case.get("dtype", "float64"))
    np.save(tmp_path / "p.npy", probabilities)
    np.save(tmp_path / "t.npy", np.array(case["targets"]))
    args = ["compute", "-l", str(tmp_path / "p.npy"), "-t", str(tmp_path / "t.npy"), "--formula", "naive"]
    args += ["--calibration", "--bins", str(case["bins"]), "-f", "json", *extra]
    if case["task"] == "binary":
        args += ["--task", "binary"]
    if "weight" in case:
        args += ["--weight", ",".join(str(w) for w in case["weight"])]
    result = run(*args)
    assert result.exit_code == 0, result.stderr
    out: dict[str, Any] = json.loads(result.stdout)["calibration"]
    return out


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_ece_rmsce_mce_and_brier_match_torchmetrics_and_sklearn(run: Run, tmp_path: Path, case: dict[str, Any]) -> None:
    found = calibration_json(run, tmp_path, case)
    want = case["expected"]
    for key in ("ece", "rmsce", "mce"):
        assert found[key] == pytest.approx(want[key], abs=TORCHMETRICS_ABS), key
    precise = case.get("dtype", "float64") == "float64"  # sklearn sums float32 probabilities in float32
    assert found["brier"] == pytest.approx(want["brier"], rel=1e-12 if precise else 1e-6, abs=1e-15)
    counted = sum(1 for t in np.array(case["targets"]).reshape(-1) if t != -100)
    assert sum(row["count"] for row in found["bins"]) == found["n_samples"] == counted


def test_binning_in_float64_would_miss_the_cases_below_an_edge(run: Run, tmp_path: Path) -> None:
    """The below-edge cases tell the binning apart: in float64 their samples go to the bin below, and the ECE moves."""
    case = next(c for c in CASES if c["name"] == "multiclass_below_edges_bins5")
    p = np.array(case["probabilities"])
    confidence, right = p.max(axis=1), p.argmax(axis=1) == np.array(case["targets"])
    index = np.clip(np.searchsorted(np.linspace(0, 1, 6), confidence, side="right") - 1, 0, 5)
    count = np.bincount(index, minlength=6)
    gap = np.abs(np.bincount(index, weights=right, minlength=6) - np.bincount(index, weights=confidence, minlength=6))
    in_float64 = float(np.sum(gap) / np.sum(count))
    assert abs(in_float64 - case["expected"]["ece"]) > 0.01
    assert calibration_json(run, tmp_path, case)["ece"] == pytest.approx(case["expected"]["ece"], abs=TORCHMETRICS_ABS)


def test_a_confidence_on_an_edge_goes_to_the_bin_above_and_one_of_1_to_a_bin_of_its_own(
    run: Run, tmp_path: Path
) -> None:
    case = next(c for c in CASES if c["name"] == "multiclass_edges_bins5")  # confidences 0.4, 0.6, 0.4, 1.0, 0.8, 0.5
    bins = calibration_json(run, tmp_path, case)["bins"]
    ranges = [(row["low"], row["high"], row["count"]) for row in bins]
    assert ranges == [
        (pytest.approx(0.4), pytest.approx(0.6), 3),  # 0.4 (twice) and 0.5
        (pytest.approx(0.6), pytest.approx(0.8), 1),
        (pytest.approx(0.8), 1.0, 1),
        (1.0, 1.0, 1),
    ]


SIZES: list[str] = sorted(REFERENCE["boundaries"], key=lambda n: int(str(n)))


@pytest.mark.parametrize("n", SIZES)
def test_uniform_edges_are_torch_linspace_in_float32_and_float64(n: str) -> None:
    want32 = np.array(REFERENCE["boundaries"][n], dtype=np.uint32).view(np.float32)
    np.testing.assert_array_equal(torch_boundaries(int(n), 32), want32.astype(np.float64))
    want64 = np.array([float.fromhex(v) for v in REFERENCE["boundaries64"][n]])
    np.testing.assert_array_equal(torch_boundaries(int(n), 64), want64)


def test_numpy_linspace_is_not_torch_linspace() -> None:
    """The recorded edges differ from numpy's somewhere: the emulation is needed, and the test above can fail."""
    recorded = {n: np.array(bits, np.uint32).view(np.float32) for n, bits in REFERENCE["boundaries"].items()}
    differ = [n for n, edges in recorded.items() if not np.array_equal(np.linspace(0, 1, int(n) + 1), edges)]
    assert differ


@pytest.mark.parametrize("case", REFERENCE["quantile"], ids=lambda c: c["name"])
def test_quantile_bins_match_sklearn_calibration_curve(run: Run, tmp_path: Path, case: dict[str, Any]) -> None:
    found = calibration_json(run, tmp_path, case, "--binning", "quantile")
    assert found["binning"] == "quantile"
    np.testing.assert_allclose([row["accuracy"] for row in found["bins"]], case["accuracy"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose([row["confidence"] for row in found["bins"]], case["confidence"], rtol=1e-12)
    counts = [row["count"] for row in found["bins"]]
    assert max(counts) - min(counts) <= max(2, 0.05 * sum(counts) / len(counts) + 2)  # equal mass, up to ties
