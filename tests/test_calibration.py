"""Calibration's accumulators, interval and fitted temperature, and ``compute --calibration`` on the command line
(the reference values are in tests/test_calibration_reference.py)."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ce_cli.calibration.interval import ece_interval
from ce_cli.calibration.metrics import Calibration
from ce_cli.calibration.sums import Confidences, bin_sums
from ce_cli.calibration.temperature import fit_temperature
from ce_cli.paired.bootstrap import poisson_weights, sample_keys
from tests.conftest import Run


def _samples(seed: int, n: int) -> Confidences:
    rng = np.random.default_rng(seed)
    confidence = rng.random(n)
    return Confidences(confidence, rng.random(n) < confidence, rng.random(n))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 400), st.lists(st.floats(0, 1), max_size=4), st.integers(1, 20))
def test_bin_sums_merge_exactly_however_the_samples_are_split(seed: int, n: int, cuts: list[float], bins: int) -> None:
    samples = _samples(seed, n)
    bounds = sorted({0, n, *(int(c * n) for c in cuts)})
    parts = [
        bin_sums(Confidences(samples.confidence[a:b], samples.right[a:b], samples.brier[a:b]), bins, "uniform")
        for a, b in itertools.pairwise(bounds)
    ]
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part)
    whole = bin_sums(samples, bins, "uniform")
    assert merged.count == whole.count
    assert merged.hits == whole.hits
    assert [s.value() for s in merged.confidence] == [s.value() for s in whole.confidence]
    assert Calibration(merged).ece == Calibration(whole).ece
    assert Calibration(merged).brier == Calibration(whole).brier


def test_quantile_bins_do_not_merge() -> None:
    from ce_cli.accumulators import MergeError

    first, second = _samples(1, 50), _samples(2, 50)
    with pytest.raises(MergeError, match="calibration bins"):
        bin_sums(first, 5, "quantile").merge(bin_sums(second, 5, "quantile"))


def _brute_force_interval(samples: Confidences, bins: int, resamples: int, seed: int) -> tuple[float, float]:
    """Each resample's ECE from its weighted per-bin means, the definition read directly."""
    sums = bin_sums(samples, bins, "uniform")
    index = np.clip(
        np.searchsorted(np.array(sums.edges, np.float32), samples.confidence.astype(np.float32), "right") - 1, 0, bins
    )
    lo, hi = sample_keys(seed, np.arange(len(samples), dtype=np.int64))
    weights = poisson_weights(lo, hi, 0, resamples).astype(np.float64)  # (n, resamples)
    eces = []
    for r in range(resamples):
        c = weights[:, r]
        count = np.bincount(index, weights=c, minlength=bins + 1)
        conf = np.bincount(index, weights=c * samples.confidence, minlength=bins + 1)
        hits = np.bincount(index, weights=c * samples.right, minlength=bins + 1)
        with np.errstate(invalid="ignore"):
            gap = np.where(count > 0, np.abs(hits / count - conf / count), 0.0)
        eces.append(float(np.sum(gap * count / np.sum(count))))
    low, high = np.quantile(eces, [0.025, 0.975])
    return float(low), float(high)


def test_the_ece_interval_is_the_bootstrap_of_the_definition_and_the_same_for_the_same_seed() -> None:
    samples = _samples(7, 300)
    edges = bin_sums(samples, 10, "uniform").edges
    positions = np.arange(300)
    found = ece_interval(samples, edges, "uniform", positions=positions, resamples=400, seed=3)
    assert found == pytest.approx(_brute_force_interval(samples, 10, 400, 3), rel=1e-9)
    assert found == ece_interval(samples, edges, "uniform", positions=positions, resamples=400, seed=3, threads=2)
    assert found != ece_interval(samples, edges, "uniform", positions=positions, resamples=400, seed=4)
    assert math.isnan(ece_interval(_samples(1, 1), edges, "uniform", positions=np.arange(1), resamples=400, seed=3)[0])


def _blocks(logits: np.ndarray, targets: np.ndarray) -> Any:
    return lambda: [(logits[:70], targets[:70]), (logits[70:], targets[70:])]


def _mp_nll(logits: np.ndarray, targets: np.ndarray, temperature: Any) -> Any:
    total = mpmath.mpf(0)
    for row, t in zip(logits.tolist(), targets.tolist(), strict=True):
        z = [mpmath.mpf(v) / temperature for v in row]
        total += mpmath.log(sum(mpmath.exp(v) for v in z)) - z[t]
    return total / len(targets)


@pytest.mark.parametrize(("scale", "above_one"), [(4.0, True), (0.3, False)])
def test_the_fitted_temperature_is_the_nll_minimum(scale: float, above_one: bool) -> None:
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((200, 5)) * scale
    right = rng.random(200) < (0.6 if above_one else 0.9)
    targets = np.where(right, np.argmax(logits, axis=1), rng.integers(0, 5, 200))
    fit = fit_temperature(_blocks(logits, targets))
    assert (fit.value > 1.0) is above_one
    scan = np.geomspace(fit.value / 3, fit.value * 3, 61)  # brute force: no scanned T does better
    assert min(float(_mp_nll(logits, targets, mpmath.mpf(float(t)))) for t in scan) >= fit.loss_after - 1e-15
    with mpmath.workdps(40):
        slope = mpmath.diff(lambda t: _mp_nll(logits, targets, t), mpmath.mpf(fit.value))
        curvature = mpmath.diff(lambda t: _mp_nll(logits, targets, t), mpmath.mpf(fit.value), 2)
        assert abs(float(slope / curvature)) <= 1e-10 * fit.value  # T within 1e-10 (relative) of the root
        assert fit.loss_after == pytest.approx(float(_mp_nll(logits, targets, mpmath.mpf(fit.value))), rel=1e-13)
        assert fit.loss_before == pytest.approx(float(_mp_nll(logits, targets, mpmath.mpf(1))), rel=1e-13)


def test_the_limits_of_the_temperature() -> None:
    logits = np.array([[2.0, 0.0, 0.0], [0.0, 3.0, 1.0]])
    separable = fit_temperature(_blocks(logits, np.array([0, 1])))  # every target its row's only maximum
    assert separable.value == 0.0
    assert separable.loss_after < 1e-9
    worst = fit_temperature(_blocks(logits, np.array([2, 0])))  # targets below their rows' averages: uniform
    assert worst.value == math.inf
    assert worst.loss_after == pytest.approx(math.log(3))


@pytest.fixture
def model(tmp_path: Path) -> list[str]:
    rng = np.random.default_rng(5)
    logits = rng.standard_normal((300, 4)) * 3
    targets = np.where(rng.random(300) < 0.5, logits.argmax(1), rng.integers(0, 4, 300))
    np.save(tmp_path / "x.npy", logits)
    np.save(tmp_path / "t.npy", targets)
    return ["-l", str(tmp_path / "x.npy"), "-t", str(tmp_path / "t.npy")]


def test_compute_calibration_json(run: Run, model: list[str]) -> None:
    result = run(
        "compute", *model, "--calibration", "--bins", "10", "--fit-temperature", "--bootstrap", "200", "-f", "json"
    )
    assert result.exit_code == 0
    assert result.stderr == ""
    out = json.loads(result.stdout)
    calibration = out["calibration"]
    assert {"ece", "rmsce", "mce", "brier", "n_bins", "binning", "bins", "ece_ci"} <= set(calibration)
    assert (calibration["n_bins"], calibration["binning"], calibration["bootstrap"]) == (10, "uniform", 200)
    assert set(calibration["bins"][0]) == {"low", "high", "count", "confidence", "accuracy"}
    assert sum(b["count"] for b in calibration["bins"]) == 300
    temperature = out["temperature"]
    assert set(temperature) == {"value", "loss_before", "loss_after", "ece_before", "ece_after"}
    assert temperature["value"] > 1.0
    assert temperature["loss_after"] < temperature["loss_before"]
    assert temperature["loss_before"] == pytest.approx(out["mean"], rel=1e-12)
    assert temperature["ece_before"] == calibration["ece"]
    assert temperature["ece_after"] < temperature["ece_before"]


def test_compute_calibration_table(run: Run, model: list[str]) -> None:
    result = run("compute", *model, "--calibration", "--fit-temperature")
    assert result.exit_code == 0
    assert result.stderr == ""
    assert "calibration: 300 samples in 15 uniform bins" in result.stdout
    assert "reliability" in result.stdout
    assert "-█" in result.stdout
    assert "temperature T = " in result.stdout
    calibration = result.stdout[result.stdout.index("calibration:") :]
    assert max(len(line) for line in calibration.splitlines()) <= 80


def test_ignored_samples_are_not_calibrated_and_pool_merges_the_bins(run: Run, tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    logits, targets = rng.standard_normal((120, 3)) * 2, rng.integers(0, 3, 120)
    targets[::5] = -100
    for name, rows in (("a", slice(0, 50)), ("b", slice(50, 120)), ("all", slice(0, 120))):
        np.save(tmp_path / f"{name}.npy", logits[rows])
        np.save(tmp_path / f"{name}_t.npy", targets[rows])
    results = {}
    for name in ("a", "b", "all"):
        result = run(
            "compute",
            "-l",
            str(tmp_path / f"{name}.npy"),
            "-t",
            str(tmp_path / f"{name}_t.npy"),
            "--calibration",
            "-f",
            "json",
        )
        assert result.exit_code == 0, result.stderr
        (tmp_path / f"{name}.json").write_text(result.stdout)
        results[name] = json.loads(result.stdout)
    assert results["all"]["calibration"]["n_samples"] == 96
    pooled = run("pool", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "-f", "json")
    assert pooled.exit_code == 0, pooled.stderr
    assert json.loads(pooled.stdout)["calibration"] == results["all"]["calibration"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bins", "5"], "--bins sets up --calibration"),
        (["--calibration", "--seed", "3"], "give --bootstrap B too"),
        (["--calibration", "-f", "csv"], "not with -f csv"),
        (["--calibration", "-q"], "not with -q"),
        (["--fit-temperature", "--task", "binary"], "--task binary has none"),
        (["--fit-temperature", "--formula", "naive"], "takes probabilities"),
        (["--fit-temperature", "--label-smoothing", "0.1"], "give no --weight or --label-smoothing"),
    ],
)
def test_what_calibration_refuses(run: Run, args: list[str], message: str) -> None:
    inputs = ["-l", "0.2,0.7", "-t", "1,0"] if "binary" in args else ["-l", "0.2,0.7;0.9,0.1", "-t", "1,0"]
    result = run("compute", *inputs, *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_binary_calibration_and_soft_targets(run: Run) -> None:
    result = run(
        "compute", "-l", "2.0,-1.0,0.5,3.0", "-t", "1,0,0,1", "--task", "binary", "--calibration", "-f", "json"
    )
    assert result.exit_code == 0, result.stderr
    p = 1 / (1 + np.exp(-np.array([2.0, -1.0, 0.5, 3.0])))
    assert json.loads(result.stdout)["calibration"]["brier"] == pytest.approx(
        np.mean((np.array([1, 0, 0, 1]) - p) ** 2)
    )
    soft = run("compute", "-l", "2.0,-1.0", "-t", "0.7,0", "--task", "binary", "--calibration")
    assert soft.exit_code == 2
    assert "0/1 targets" in soft.stderr
    assert soft.stdout == ""


def test_k_dimensional_inputs_count_every_position_as_a_sample(run: Run, tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((20, 5, 7)) * 2  # (N, C, L): the class axis is 1
    targets = rng.integers(0, 5, (20, 7))
    targets[3, 2] = -100
    flat_logits = np.moveaxis(logits, 1, -1).reshape(-1, 5)  # the same samples as (N * L, C) rows
    np.save(tmp_path / "x3.npy", logits)
    np.save(tmp_path / "t3.npy", targets)
    np.save(tmp_path / "x2.npy", flat_logits)
    np.save(tmp_path / "t2.npy", targets.reshape(-1))
    found = []
    for name in ("3", "2"):
        files = ["-l", str(tmp_path / f"x{name}.npy"), "-t", str(tmp_path / f"t{name}.npy")]
        result = run("compute", *files, "--calibration", "--fit-temperature", "-f", "json")
        assert result.exit_code == 0, result.stderr
        found.append(json.loads(result.stdout))
    assert found[0]["calibration"]["n_samples"] == 139
    assert found[0]["calibration"] == found[1]["calibration"]
    assert found[0]["temperature"] == pytest.approx(found[1]["temperature"], rel=1e-12)
