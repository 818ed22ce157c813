"""``ce-loss diff``: the paired comparison against scipy/statsmodels values recorded with their provenance."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ce_cli.families.softmax.family import FAMILY as SOFTMAX
from ce_cli.families.softmax.inputs import validate_inputs
from ce_cli.families.softmax.report import SummaryRequest
from ce_cli.formulas import formula_spec
from ce_cli.paired.difference import DiffRequest, paired_difference
from ce_cli.paired.samples import PairedSamples
from tests.conftest import DATA, Run, spelled

REFERENCE: dict[str, Any] = json.loads((DATA / "paired_reference_cases.json").read_text())
CASES = REFERENCE["softmax_cases"]
CONTRACT_KEYS = {
    "delta", "delta_ci", "delta_se", "t_p_value", "wins", "ties", "losses", "accuracy", "mcnemar_p",
    "top1_agreement", "kl", "perplexity", "perplexity_ratio", "perplexity_ratio_ci", "n_samples", "confidence",
    "bootstrap", "seed",
}  # fmt: skip


def _samples(logits: Any, targets: Any, **options: Any) -> tuple[PairedSamples, Any]:
    inputs = validate_inputs(np.asarray(logits), np.asarray(targets), **options)
    report = SOFTMAX.compute(
        inputs, formula_spec("cross_entropy"), "mean", eps=None, request=SummaryRequest(), progress=None
    )
    return SOFTMAX.paired(report), inputs


def _expected(case: dict[str, Any]) -> dict[str, Any]:
    return {k: spelled(v) if isinstance(v, str) else v for k, v in case["expected"].items()}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_api_matches_scipy_and_statsmodels(case: dict[str, Any]) -> None:
    new, new_inputs = _samples(case["logits_new"], case["targets"])
    old, old_inputs = _samples(case["logits_baseline"], case["targets"])
    kl = SOFTMAX.divergence(new_inputs, old_inputs, None)
    diff = paired_difference(new, old, DiffRequest(resamples=500), kl=kl)
    want = _expected(case)
    # scipy's logsumexp(x) - x[t] cancels on small losses: absolute 1e-15 covers it
    np.testing.assert_allclose(new.losses, want["loss_new"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(old.losses, want["loss_baseline"], rtol=1e-12, atol=1e-15)
    assert diff.delta == pytest.approx(want["delta"], rel=1e-11, abs=1e-14)
    assert diff.delta_se == pytest.approx(want["delta_se"], rel=1e-9)
    assert diff.t_statistic == pytest.approx(want["t_statistic"], rel=1e-8)
    assert diff.t_p_value == pytest.approx(want["t_p_value"], rel=1e-7, abs=1e-300)
    assert (diff.wins, diff.ties, diff.losses) == (want["wins"], want["ties"], want["losses"])
    assert diff.accuracy_new == pytest.approx(want["accuracy_new"])
    assert diff.accuracy_baseline == pytest.approx(want["accuracy_baseline"])
    assert diff.mcnemar_p == pytest.approx(want["mcnemar_p"], rel=1e-12)
    assert diff.top1_agreement == pytest.approx(want["top1_agreement"])
    assert diff.kl is not None
    for name in ("mean", "p50", "p99", "max"):
        assert getattr(diff.kl, name) == pytest.approx(want["kl"][name], rel=1e-9, abs=1e-15), name
    low, high = diff.delta_ci
    assert low < diff.delta < high
    assert diff.perplexity_ratio == pytest.approx(math.exp(want["delta"]), rel=1e-11)


def _write_case(tmp_path: Path, case: dict[str, Any]) -> list[str]:
    np.save(tmp_path / "new.npy", np.array(case["logits_new"]))
    np.save(tmp_path / "old.npy", np.array(case["logits_baseline"]))
    np.save(tmp_path / "t.npy", np.array(case["targets"]))
    return [
        "--logits",
        str(tmp_path / "new.npy"),
        "--baseline",
        str(tmp_path / "old.npy"),
        "-t",
        str(tmp_path / "t.npy"),
    ]


def test_json_has_every_contract_key_and_the_reference_values(run: Run, tmp_path: Path) -> None:
    case = next(c for c in CASES if c["name"] == "clearly_better")
    result = run("diff", *_write_case(tmp_path, case), "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    out = json.loads(result.stdout)
    assert set(out) >= CONTRACT_KEYS
    want = _expected(case)
    assert out["t_p_value"] == pytest.approx(want["t_p_value"], rel=1e-7)
    assert out["mcnemar_p"] == pytest.approx(want["mcnemar_p"], rel=1e-12)
    assert out["n_samples"] == len(case["targets"])
    assert (out["bootstrap"], out["seed"], out["confidence"], out["bootstrap_method"]) == (2000, 0, 0.95, "poisson")
    assert out["delta_ci"][0] < out["delta"] < out["delta_ci"][1] < 0  # NEW is clearly better
    assert out["perplexity_ratio_ci"] == pytest.approx([math.exp(v) for v in out["delta_ci"]], rel=1e-12)
    assert set(out["accuracy"]) == set(out["perplexity"]) == {"new", "baseline"}
    assert set(out["kl"]) == {"mean", "p50", "p99", "max"}


def test_delta_is_the_difference_of_what_compute_reports(run: Run, tmp_path: Path) -> None:
    """Weights and ignored targets: each mean is compute's, with its own family's denominator."""
    case = CASES[-1]
    args = _write_case(tmp_path, case)
    targets = np.array(case["targets"])
    targets[::7] = -100
    np.save(tmp_path / "t.npy", targets)
    options = ["--weight", ",".join(str(0.5 + c / 10) for c in range(10))]
    diff = json.loads(run("diff", *args, *options, "-f", "json", "--bootstrap", "300").stdout)
    means = [
        json.loads(run("compute", "-l", args[i], "-t", args[5], *options, "-f", "json").stdout)["mean"] for i in (1, 3)
    ]
    assert diff["delta"] == pytest.approx(means[0] - means[1], rel=1e-13)
    assert diff["n_samples"] == int(np.count_nonzero(targets != -100))
    assert diff["delta_ci"][0] < diff["delta"] < diff["delta_ci"][1]


def test_the_same_seed_gives_the_same_interval(run: Run, tmp_path: Path) -> None:
    args = _write_case(tmp_path, CASES[2])
    first, again, other = (
        json.loads(run("diff", *args, "-f", "json", "--seed", seed).stdout)["delta_ci"] for seed in ("4", "4", "5")
    )
    assert first == again
    assert first != other
    narrow = json.loads(run("diff", *args, "-f", "json", "--seed", "4", "--confidence", "0.5").stdout)["delta_ci"]
    assert first[0] < narrow[0] < narrow[1] < first[1]


def test_shapes_that_differ_are_named(run: Run, tmp_path: Path) -> None:
    args = _write_case(tmp_path, CASES[2])
    np.save(tmp_path / "old.npy", np.zeros((len(CASES[2]["targets"]), 7)))
    result = run("diff", *args)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "shape (400, 5)" in result.stderr
    assert "shape (400, 7)" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_targets_read_with_each_file_must_agree(run: Run, tmp_path: Path) -> None:
    (tmp_path / "new.csv").write_text("a,b,label\n1,2,0\n3,1,1\n0,0,1\n")
    (tmp_path / "old.csv").write_text("a,b,label\n1,2,0\n3,1,0\n0,0,1\n")
    result = run(
        "diff", "-l", str(tmp_path / "new.csv"), "--baseline", str(tmp_path / "old.csv"), "--target-column", "label"
    )
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "differ (first at sample 1)" in result.stderr


def test_text_tables_with_a_target_column(run: Run, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((50, 3))
    labels = rng.integers(0, 3, 50)
    for name, values in (("new", logits + 0.1 * rng.standard_normal((50, 3))), ("old", logits)):
        rows = [",".join([*(f"{v:.6f}" for v in row), str(t)]) for row, t in zip(values, labels, strict=True)]
        (tmp_path / f"{name}.csv").write_text("a,b,c,label\n" + "\n".join(rows) + "\n")
    result = run(
        "diff",
        "-l",
        str(tmp_path / "new.csv"),
        "--baseline",
        str(tmp_path / "old.csv"),
        "--target-column",
        "label",
        "-f",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["n_samples"] == 50
    assert 0.0 < out["kl"]["mean"] < out["kl"]["max"]


def test_binary_task(run: Run, tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    x = rng.standard_normal((40, 3))
    t = (rng.random((40, 3)) < 0.5).astype(np.float64)
    np.save(tmp_path / "new.npy", x + 0.5 * (2 * t - 1))
    np.save(tmp_path / "old.npy", x)
    np.save(tmp_path / "t.npy", t)
    args = ["-l", str(tmp_path / "new.npy"), "--baseline", str(tmp_path / "old.npy"), "-t", str(tmp_path / "t.npy")]
    result = run("diff", *args, "--task", "binary", "-f", "json", "--by-class")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["kl"] is None
    assert out["n_samples"] == 120
    assert out["delta"] < 0
    assert [row["class"] for row in out["by_class"]] == [0, 1, 2]
    assert sum(row["count"] for row in out["by_class"]) == 120


def test_csv_has_one_row_per_sample(run: Run, tmp_path: Path) -> None:
    case = CASES[0]
    targets = np.array(case["targets"])
    targets[2] = -100
    args = _write_case(tmp_path, case)
    np.save(tmp_path / "t.npy", targets)
    result = run("diff", *args, "-f", "csv")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "index,loss_new,loss_baseline,d"
    assert len(lines) == 1 + len(targets)
    cells = [line.split(",") for line in lines[1:]]
    assert cells[2][3] == ""  # ignored: no difference
    want = _expected(case)
    assert float(cells[0][3]) == pytest.approx(want["loss_new"][0] - want["loss_baseline"][0], rel=1e-12)


def test_worst_lists_the_largest_regressions(run: Run, tmp_path: Path) -> None:
    case = CASES[2]
    args = _write_case(tmp_path, case)
    out = json.loads(run("diff", *args, "-f", "json", "--worst", "3").stdout)
    want = _expected(case)
    d = np.array(want["loss_new"]) - np.array(want["loss_baseline"])
    assert [row["index"] for row in out["worst"]] == [str(i) for i in np.argsort(-d)[:3]]
    table = run("diff", *args, "--worst", "3")
    assert table.exit_code == 0
    assert "largest regressions" in table.stdout
    assert "NEW is better by" in table.stdout


def test_one_sample_has_no_interval(run: Run, tmp_path: Path) -> None:
    result = run("diff", "-l", "0.1,0.5,0.2", "--baseline", "0.3,0.2,0.1", "-t", "1", "-f", "json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["n_samples"] == 1
    assert out["delta_ci"] == ["NaN", "NaN"]
    assert out["delta_se"] == "NaN"
    assert out["t_p_value"] == "NaN"


@pytest.mark.parametrize(
    ("options", "words"),
    [(["--confidence", "1.5"], "--confidence must be in (0, 1)"), (["--bootstrap", "-1"], "--bootstrap")],
)
def test_usage_errors(run: Run, tmp_path: Path, options: list[str], words: str) -> None:
    result = run("diff", *_write_case(tmp_path, CASES[0]), *options)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert words in result.stderr


def test_baseline_is_required_and_given_once(run: Run, tmp_path: Path) -> None:
    args = _write_case(tmp_path, CASES[0])
    missing = run("diff", *args[:2], *args[4:])
    assert missing.exit_code == 2
    assert "--baseline" in missing.stderr
    twice = run("diff", *args, "--baseline", args[3])
    assert twice.exit_code == 2
    assert "--baseline" in twice.stderr


def test_k_dimensional_inputs_and_shards_give_what_one_file_gives(run: Run, tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    base = rng.standard_normal((6, 4, 5))  # (N, C, L): the class axis is 1
    new = base + 0.3 * rng.standard_normal((6, 4, 5))
    targets = rng.integers(0, 4, (6, 5))
    for name, array in (("new", new), ("old", base), ("t", targets)):
        np.save(tmp_path / f"{name}.npy", array)
        np.save(tmp_path / f"{name}-0.npy", array[:4])
        np.save(tmp_path / f"{name}-1.npy", array[4:])
    whole = run(
        "diff",
        "-l",
        str(tmp_path / "new.npy"),
        "-b",
        str(tmp_path / "old.npy"),
        "-t",
        str(tmp_path / "t.npy"),
        "-f",
        "json",
    )
    assert whole.exit_code == 0, whole.stderr
    shards = run(
        "diff",
        "-l",
        str(tmp_path / "new-*.npy"),
        "-b",
        str(tmp_path / "old-*.npy"),
        "-t",
        str(tmp_path / "t-*.npy"),
        "-f",
        "json",
    )
    assert shards.exit_code == 0, shards.stderr
    one, other = json.loads(whole.stdout), json.loads(shards.stdout)
    assert one["n_samples"] == other["n_samples"] == 30
    assert one == other
    # the KL of each (sample, position) over the class axis, against mpmath
    from tests.test_paired_kl import mp_kl

    exact = [mp_kl(base[n, :, p].tolist(), new[n, :, p].tolist()) for n in range(6) for p in range(5)]
    assert one["kl"]["max"] == pytest.approx(max(exact), rel=1e-10)
    assert one["kl"]["mean"] == pytest.approx(float(np.mean(exact)), rel=1e-10)
    worst = json.loads(
        run(
            "diff",
            "-l",
            str(tmp_path / "new.npy"),
            "-b",
            str(tmp_path / "old.npy"),
            "-t",
            str(tmp_path / "t.npy"),
            "-f",
            "json",
            "--worst",
            "1",
        ).stdout
    )
    assert worst["worst"][0]["index"].startswith("(")  # a (sample, position) index
