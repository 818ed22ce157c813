"""Statistics that merge, and ``ce-loss pool``: results computed apart give the result of the whole."""

from __future__ import annotations

import itertools
import json
import math
import random
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ce_cli.accumulators import ExactSum, LossStats
from ce_cli.families.softmax.inputs import validate_inputs
from ce_cli.families.softmax.report import SummaryRequest, build_report
from ce_cli.families.softmax.stats import accumulate
from ce_cli.formulas import formula_spec
from tests.conftest import Run

FLOATS = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(FLOATS, max_size=60), cuts=st.lists(st.integers(0, 60), max_size=6))
def test_an_exact_sum_is_the_exact_sum_whatever_the_split(values: list[float], cuts: list[int]) -> None:
    # The reference is Python's Fraction: every float64 exactly, summed exactly.
    exact = sum((Fraction(v) for v in values), Fraction(0))
    whole = ExactSum().update(np.array(values, dtype=np.float64))
    assert Fraction(whole.scaled, 1 << 1074) == exact
    bounds = sorted({0, len(values), *(c for c in cuts if c <= len(values))})
    parts = [ExactSum().update(np.array(values[a:b], dtype=np.float64)) for a, b in itertools.pairwise(bounds)]
    random.Random(len(values)).shuffle(parts)
    merged = ExactSum()
    for part in parts:
        merged = merged.merge(part)
    assert merged.scaled == whole.scaled
    try:
        expected = float(exact)
    except OverflowError:
        expected = math.inf if exact > 0 else -math.inf
    assert merged.value() == expected  # correctly rounded
    assert ExactSum.from_json(json.loads(json.dumps(merged.json()))) == merged


def _report(logits: np.ndarray, targets: np.ndarray, weight: list[float] | None) -> object:
    inputs = validate_inputs(logits, targets, weight=weight, ignore_index=-1)
    request = SummaryRequest(by_class=True, top_k=(1, 2))
    return build_report(inputs, formula_spec("cross_entropy"), request=request)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 80),
    classes=st.integers(2, 6),
    seed=st.integers(0, 2**32 - 1),
    weighted=st.booleans(),
    shards=st.integers(1, 6),
)
def test_merged_shards_equal_the_whole_run(rows: int, classes: int, seed: int, weighted: bool, shards: int) -> None:
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((rows, classes)) * rng.uniform(0.1, 30)
    targets = rng.integers(-1, classes, rows)  # -1: ignored
    weight = rng.uniform(0.1, 3, classes).tolist() if weighted else None
    whole_report = _report(logits, targets, weight)
    whole = accumulate(whole_report)  # type: ignore[arg-type]
    cuts = sorted({0, rows, *rng.integers(0, rows + 1, shards - 1).tolist()})
    parts = [
        accumulate(_report(logits[a:b], targets[a:b], weight))  # type: ignore[arg-type]
        for a, b in itertools.pairwise(cuts)
        if b > a
    ]
    rng.shuffle(parts)
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part)
    # Counts bitwise; sums exactly (ExactSum), and within numpy's pairwise error of what compute printed.
    assert (merged.samples, merged.ignored, merged.counted, merged.hits) == (
        whole.samples,
        whole.ignored,
        whole.counted,
        whole.hits,
    )
    assert merged.top_k == whole.top_k
    assert merged.numerator.scaled == whole.numerator.scaled
    assert merged.denominator.scaled == whole.denominator.scaled
    assert merged.classes is not None
    assert whole.classes is not None
    assert {c: (s.count, s.hits, s.loss.scaled) for c, s in merged.classes.items()} == {
        c: (s.count, s.hits, s.loss.scaled) for c, s in whole.classes.items()
    }
    printed = whole_report.losses.mean  # type: ignore[attr-defined]
    assert merged.mean == pytest.approx(printed, rel=1e-12, nan_ok=True)


def _shards(folder: Path, count: int = 4, *, nan_in: int | None = None) -> list[str]:
    rng = np.random.default_rng(7)
    results = []
    for i in range(count):
        x = rng.standard_normal((30 + 7 * i, 5)) * 3
        t = rng.integers(0, 5, x.shape[0])
        if i == nan_in:
            x[3, 2] = np.nan
        np.save(folder / f"x-{i}.npy", x)
        np.save(folder / f"t-{i}.npy", t)
        results.append(str(folder / f"r-{i}.json"))
    return results


def _compute_json(run: Run, *args: str) -> dict[str, Any]:
    result = run("compute", *args, "-f", "json", "--no-warnings")
    assert result.exit_code == 0, result.stderr
    out: dict[str, Any] = json.loads(result.stdout)
    return out


MERGED = (
    "formula",
    "reduction",
    "n_samples",
    "n_ignored",
    "num_classes",
    "accuracy",
    "top_k_accuracy",
    "by_class",
)


def test_pool_gives_compute_on_the_concatenation(tmp_path: Path, run: Run) -> None:
    paths = _shards(tmp_path)
    options = ["--by-class", "--top-k", "1,3"]
    for i, path in enumerate(paths):
        Path(path).write_text(
            json.dumps(
                _compute_json(run, "-l", str(tmp_path / f"x-{i}.npy"), "-t", str(tmp_path / f"t-{i}.npy"), *options)
            )
        )
    whole = _compute_json(run, "-l", str(tmp_path / "x-*.npy"), "-t", str(tmp_path / "t-*.npy"), *options)
    result = run("pool", *reversed(paths), "-f", "json")
    assert (result.exit_code, result.stderr) == (0, "")
    pooled = json.loads(result.stdout)
    for key in MERGED:
        if key == "by_class":
            assert [(c["class"], c["count"], c["accuracy"]) for c in pooled[key]] == [
                (c["class"], c["count"], c["accuracy"]) for c in whole[key]
            ]
        else:
            assert pooled[key] == whole[key], key
    for key in ("mean", "sum", "denominator", "perplexity", "mean_bits"):
        assert pooled[key] == pytest.approx(whole[key], rel=1e-12), key
    assert pooled["pooled"] == 4
    assert "quantiles" not in pooled
    assert "quantiles" in pooled["not_pooled"]
    again = run("pool", "-", "-f", "json", input=result.stdout + result.stdout)  # a pool of pools, JSON Lines
    assert json.loads(again.stdout)["n_samples"] == 2 * pooled["n_samples"]


def test_pool_refuses_results_that_differ_naming_the_difference(tmp_path: Path, run: Run) -> None:
    paths = _shards(tmp_path, 2)
    for i, (path, formula) in enumerate(zip(paths, ["cross_entropy", "log_softmax_nll"], strict=True)):
        args = ["-l", str(tmp_path / f"x-{i}.npy"), "-t", str(tmp_path / f"t-{i}.npy"), "--formula", formula]
        Path(path).write_text(json.dumps(_compute_json(run, *args)))
    result = run("pool", *paths)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"ce-loss: error: '{paths[0]}' and '{paths[1]}' cannot be pooled: their formula differ "
        "('cross_entropy' against 'log_softmax_nll')\n"
    )
    state = json.loads(Path(paths[1]).read_text())
    state["state"]["meta"]["ce_loss"] = "0.0.9"
    state["state"]["meta"]["formula"] = "cross_entropy"
    Path(paths[1]).write_text(json.dumps(state))
    version = run("pool", *paths)
    assert "cannot be pooled: their ce_loss differ ('0.1.0' against '0.0.9')" in version.stderr


def test_a_non_finite_shard_is_named_and_can_be_left_out(tmp_path: Path, run: Run) -> None:
    paths = _shards(tmp_path, 3, nan_in=1)
    for i, path in enumerate(paths):
        args = ["-l", str(tmp_path / f"x-{i}.npy"), "-t", str(tmp_path / f"t-{i}.npy")]
        Path(path).write_text(json.dumps(_compute_json(run, *args)))
    default = run("pool", *paths, "-f", "json")
    assert json.loads(default.stdout)["mean"] == "NaN"  # IEEE, as compute on the concatenation gives
    assert default.stderr == (
        f"ce-loss: warning: '{paths[1]}': its numerator is nan; so the pooled mean is NaN or infinite, "
        "as on the concatenation\n"
    )
    skipped = run("pool", *paths, "-f", "json", "--skip-nonfinite")
    out = json.loads(skipped.stdout)
    assert out["n_samples"] == 30 + 44
    assert skipped.stderr.splitlines()[-1] == "ce-loss: warning: --skip-nonfinite left out 1 results, 37 samples"
    rest = _compute_json(run, "-l", str(tmp_path / "x-[02].npy"), "-t", str(tmp_path / "t-[02].npy"))
    assert out["mean"] == pytest.approx(rest["mean"], rel=1e-12)


def test_pool_of_the_binary_family_gives_compute_on_the_concatenation(tmp_path: Path, run: Run) -> None:
    rng = np.random.default_rng(3)
    for i in range(3):
        np.save(tmp_path / f"x-{i}.npy", rng.standard_normal((20 + i, 4)))
        np.save(tmp_path / f"y-{i}.npy", (rng.random((20 + i, 4)) < 0.3).astype(float))
        args = ["--task", "binary", "-l", str(tmp_path / f"x-{i}.npy"), "-t", str(tmp_path / f"y-{i}.npy")]
        (tmp_path / f"r-{i}.json").write_text(json.dumps(_compute_json(run, *args)))
    whole = _compute_json(run, "--task", "binary", "-l", str(tmp_path / "x-*.npy"), "-t", str(tmp_path / "y-*.npy"))
    pooled = json.loads(run("pool", *(str(tmp_path / f"r-{i}.json") for i in range(3)), "-f", "json").stdout)
    for key in ("n_elements", "positives", "accuracy", "threshold", "denominator"):
        assert pooled[key] == whole[key], key
    assert pooled["mean"] == pytest.approx(whole["mean"], rel=1e-12)
    for mine, theirs in zip(pooled["per_label"], whole["per_label"], strict=True):
        assert (mine["label"], mine["positives"], mine["accuracy"]) == (
            theirs["label"],
            theirs["positives"],
            theirs["accuracy"],
        )
        assert mine["mean_loss"] == pytest.approx(theirs["mean_loss"], rel=1e-12)


def test_a_result_without_state_is_refused(tmp_path: Path, run: Run) -> None:
    (tmp_path / "r.json").write_text('{"mean": 1.0}')
    result = run("pool", str(tmp_path / "r.json"))
    assert result.exit_code == 1
    assert result.stderr == (
        f"ce-loss: error: '{tmp_path / 'r.json'}' has no 'state': pool merges results written by compute -f json\n"
    )


def test_loss_stats_round_trip_through_json() -> None:
    report = _report(np.array([[1.0, 2.0, 0.5], [0.1, 0.2, 3.0]]), np.array([0, 2]), [1.0, 2.0, 3.0])
    stats = accumulate(report)  # type: ignore[arg-type]
    again = LossStats.from_json(json.loads(json.dumps(stats.json())))
    assert again.json() == stats.json()
