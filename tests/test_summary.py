"""The evaluation summary (``compute --by-class --top-k --worst --per-sequence`` and the default figures).

Every expected figure is computed here from its definition, in plain Python and mpmath: losses from
:func:`mp_loss`, quantiles by the linear interpolation numpy documents as its default ("linear",
Hyndman & Fan type 7), ranks by counting, shares and accuracies by looping over the samples.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import mpmath
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ce_cli.families.softmax.inputs import validate_inputs
from ce_cli.families.softmax.report import SummaryRequest, build_report
from ce_cli.families.softmax.summary import histogram
from ce_cli.formulas import formula_spec
from tests.conftest import Run, mp_loss

IGNORE = -100


def linear_quantile(values: Sequence[float], q: float) -> float:
    """Type-7 quantile: sort, take position h = (n - 1) q, interpolate between its neighbours."""
    ordered = sorted(values)
    h = (len(ordered) - 1) * q
    low = math.floor(h)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (h - low) * (ordered[high] - ordered[low])


def expected_quantiles(values: Sequence[float]) -> dict[str, float]:
    return {
        name: linear_quantile(values, q)
        for name, q in [("min", 0), ("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1)]
    }


def rank(row: Sequence[float], target: int) -> int:
    return 1 + sum(1 for v in row if v > row[target])


def first_argmax(row: Sequence[float]) -> int:
    return max(range(len(row)), key=lambda j: (row[j], -j))


def close(actual: Any, expected: float) -> None:
    assert actual == pytest.approx(expected, rel=1e-12, abs=1e-15)


def save(tmp_path: Path, name: str, array: Any) -> str:
    path = tmp_path / name
    np.save(path, np.asarray(array), allow_pickle=False)
    return str(path)


@pytest.fixture
def weighted_case(tmp_path: Path) -> dict[str, Any]:
    rng = np.random.default_rng(13)
    logits = rng.normal(scale=2.0, size=(14, 5)).round(3)
    logits[3, 1] = logits[3, 4] = logits[3].max() + 1.0  # a tie at the top
    targets = rng.integers(0, 5, size=14)
    targets[[2, 9]] = IGNORE
    weight = [0.5, 2.0, 1.0, 3.0, 0.25]
    return {
        "logits": logits.tolist(),
        "targets": targets.tolist(),
        "weight": weight,
        "args": [
            "--logits",
            save(tmp_path, "logits.npy", logits),
            "--targets",
            save(tmp_path, "targets.npy", targets),
            "--weight",
            ",".join(str(w) for w in weight),
        ],
    }


def test_index_targets_with_weights_and_ignored_samples(run: Run, weighted_case: dict[str, Any]) -> None:
    result = run("compute", *weighted_case["args"], "--format", "json", "--by-class", "--top-k", "3,1", "--worst", "4")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    rows, targets, weight = weighted_case["logits"], weighted_case["targets"], weighted_case["weight"]
    counted = [i for i, t in enumerate(targets) if t != IGNORE]
    loss = {i: weight[targets[i]] * mp_loss(rows[i], targets[i]) for i in counted}
    numerator = math.fsum(loss.values())
    denominator = math.fsum(weight[targets[i]] for i in counted)

    close(out["numerator"], numerator)
    close(out["denominator"], denominator)
    close(out["mean"], numerator / denominator)
    close(out["mean_bits"], numerator / denominator / math.log(2))
    for name, value in expected_quantiles(list(loss.values())).items():
        close(out["quantiles"][name], value)

    ranks = {i: rank(rows[i], targets[i]) for i in counted}
    assert out["ranks"] == [ranks.get(i) for i in range(len(targets))]  # null where ignored
    for k in (1, 3):
        close(out["top_k_accuracy"][str(k)], sum(1 for i in counted if ranks[i] <= k) / len(counted))
    assert list(out["top_k_accuracy"]) == ["1", "3"]

    classes = sorted({targets[i] for i in counted})
    expected_by_class = []
    for c in classes:
        mine = [i for i in counted if targets[i] == c]
        expected_by_class.append(
            {
                "class": c,
                "count": len(mine),
                "mean_loss": math.fsum(loss[i] for i in mine) / len(mine),
                "loss_share": math.fsum(loss[i] for i in mine) / numerator,
                "accuracy": sum(1 for i in mine if first_argmax(rows[i]) == c) / len(mine),
            }
        )
    expected_by_class.sort(key=lambda row: -row["loss_share"])
    assert [row["class"] for row in out["by_class"]] == [row["class"] for row in expected_by_class]
    for got, want in zip(out["by_class"], expected_by_class, strict=True):
        assert got["count"] == want["count"]
        for key in ("mean_loss", "loss_share", "accuracy"):
            close(got[key], want[key])
    close(math.fsum(row["loss_share"] for row in out["by_class"]), 1.0)

    by_loss = sorted(counted, key=lambda i: -loss[i])[:4]
    assert [w["index"] for w in out["worst"]] == by_loss
    assert [w["target"] for w in out["worst"]] == [targets[i] for i in by_loss]
    for got, i in zip(out["worst"], by_loss, strict=True):
        close(got["loss"], loss[i])


def test_probability_targets_divide_by_n_and_group_by_their_argmax(run: Run, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(6, 4))
    probs = rng.dirichlet(np.ones(4), size=6)
    args = ["--logits", save(tmp_path, "x.npy", logits), "--targets", save(tmp_path, "p.npy", probs)]
    result = run("compute", *args, "--format", "json", "--by-class", "--top-k", "2")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)

    def soft_loss(row: Sequence[float], p: Sequence[float]) -> float:
        with mpmath.workdps(50):
            lse = mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(float(v))) for v in row))
            terms = [mpmath.mpf(float(pc)) * (lse - mpmath.mpf(float(v))) for v, pc in zip(row, p, strict=True)]
            return float(mpmath.fsum(terms))

    losses = [soft_loss(logits[i].tolist(), probs[i].tolist()) for i in range(6)]
    close(out["numerator"], math.fsum(losses))
    assert out["denominator"] == 6.0
    for name, value in expected_quantiles(losses).items():
        close(out["quantiles"][name], value)
    argmax = [first_argmax(p.tolist()) for p in probs]
    assert sorted(row["class"] for row in out["by_class"]) == sorted(set(argmax))
    for row in out["by_class"]:
        mine = [i for i in range(6) if argmax[i] == row["class"]]
        assert row["count"] == len(mine)
        close(row["loss_share"], math.fsum(losses[i] for i in mine) / math.fsum(losses))
    expected_ranks = [rank(logits[i].tolist(), argmax[i]) for i in range(6)]
    assert out["ranks"] == expected_ranks
    close(out["top_k_accuracy"]["2"], sum(1 for r in expected_ranks if r <= 2) / 6)


@pytest.mark.parametrize("weighted", [False, True])
def test_per_sequence_pools_each_sequence_and_contrasts_the_two_perplexities(
    run: Run, tmp_path: Path, weighted: bool
) -> None:
    rng = np.random.default_rng(21)
    logits = rng.normal(size=(3, 4, 5))  # (B, C, T), PyTorch's layout
    targets = rng.integers(0, 4, size=(3, 5))
    targets[0, 4] = targets[2, 0] = targets[2, 1] = IGNORE
    weight = [1.0, 2.0, 0.5, 1.5] if weighted else [1.0] * 4
    args = ["--logits", save(tmp_path, "x.npy", logits), "--targets", save(tmp_path, "t.npy", targets)]
    args += ["--weight", ",".join(map(str, weight))] if weighted else []
    result = run("compute", *args, "--format", "json", "--per-sequence", "--worst", "2", "--top-k", "1")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)

    loss: dict[tuple[int, int], float] = {}
    for b in range(3):
        for t in range(5):
            if targets[b, t] != IGNORE:
                loss[b, t] = weight[targets[b, t]] * mp_loss(logits[b, :, t].tolist(), int(targets[b, t]))
    sequences = []
    for b in range(3):
        mine = [key for key in loss if key[0] == b]
        mean = math.fsum(loss[k] for k in mine) / math.fsum(weight[targets[k]] for k in mine)
        sequences.append((mean, len(mine)))
    for got, (mean, tokens) in zip(out["per_sequence"], sequences, strict=True):
        close(got["mean_loss"], mean)
        close(got["perplexity"], math.exp(mean))
        assert got["tokens"] == tokens
    close(out["mean_sequence_perplexity"], math.fsum(math.exp(m) for m, _ in sequences) / 3)
    pooled = math.fsum(loss.values()) / math.fsum(weight[targets[k]] for k in loss)
    close(out["perplexity"], math.exp(pooled))

    ranked = sorted(loss, key=lambda k: -loss[k])[:2]
    assert [w["index"] for w in out["worst"]] == [list(k) for k in ranked]
    expected_ranks = [
        [None if targets[b, t] == IGNORE else rank(logits[b, :, t].tolist(), int(targets[b, t])) for t in range(5)]
        for b in range(3)
    ]
    assert out["ranks"] == expected_ranks

    table = run("compute", *args, "--per-sequence")
    assert table.exit_code == 0, table.stderr
    assert "per sequence" in table.stdout
    assert "Papers usually report the pooled one" in table.stdout
    assert "3 with the ignore index -100 add nothing" in " ".join(table.stdout.split())


def test_the_table_shows_the_worst_samples_quantiles_histogram_and_denominator(
    run: Run, weighted_case: dict[str, Any]
) -> None:
    result = run("compute", *weighted_case["args"], "--worst", "3", "--top-k", "2", "--by-class")
    assert result.exit_code == 0, result.stderr
    rows, targets, weight = weighted_case["logits"], weighted_case["targets"], weighted_case["weight"]
    counted = [i for i, t in enumerate(targets) if t != IGNORE]
    loss = {i: weight[targets[i]] * mp_loss(rows[i], targets[i]) for i in counted}
    worst = sorted(counted, key=lambda i: -loss[i])[:3]
    lines = result.stdout.splitlines()
    shown = [int(line.split("│")[1]) for line in lines if line.startswith("│") and "%" not in line]
    assert shown == worst
    assert "the 3 highest cross_entropy losses" in result.stdout
    assert "loss by class (largest share first)" in result.stdout
    assert re.search(r"loss quantiles: min \S+ p50 \S+ p90 \S+ p99 \S+ max", " ".join(result.stdout.split()))
    assert any(line.startswith("histogram: ") for line in lines)
    assert "top-2 accuracy" in result.stdout
    assert " ".join(result.stdout.split()).endswith(
        "mean = sum / denominator: divided by the weight sum of the counted targets, sum w[target] = "
        f"{math.fsum(weight[targets[i]] for i in counted):.6f}; 2 with the ignore index -100 add nothing to either side"
    )  # a sentence wraps at a pipe's 80 columns
    assert result.stderr == ""


def test_csv_has_a_rank_column_with_top_k(run: Run, weighted_case: dict[str, Any]) -> None:
    result = run("compute", *weighted_case["args"], "--format", "csv", "--top-k", "1")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "index,target,predicted,p_target,loss,rank"
    rows, targets = weighted_case["logits"], weighted_case["targets"]
    for i, line in enumerate(lines[1:]):
        expected = "" if targets[i] == IGNORE else str(rank(rows[i], targets[i]))
        assert line.split(",")[-1] == expected
    plain = run("compute", *weighted_case["args"], "--format", "csv")
    assert plain.stdout.splitlines()[0] == "index,target,predicted,p_target,loss"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--top-k", "6"], "--top-k 6 is out of range: there are 5 classes"),
        (["--top-k", "0"], "--top-k 0 is out of range"),
        (["--top-k", "1,x"], "--top-k takes whole numbers"),
        (["--per-sequence"], "--per-sequence needs targets of shape (B, T)"),
    ],
)
def test_summary_options_the_data_cannot_serve_are_usage_errors(
    run: Run, weighted_case: dict[str, Any], extra: list[str], message: str
) -> None:
    result = run("compute", *weighted_case["args"], *extra)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("extra", [["--top-k", "1"], ["--worst", "2"], ["--per-sequence"]])
def test_binary_refuses_the_softmax_only_summaries(run: Run, extra: list[str]) -> None:
    result = run("compute", "--task", "binary", "--logits", "0.5,-1,2", "--targets", "1,0,0", *extra)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "binary" in result.stderr


def test_binary_by_class_gives_each_labels_share(run: Run, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(scale=3.0, size=(7, 3))
    y = (rng.random(size=(7, 3)) > 0.5).astype(float)
    args = ["--task", "binary", "--logits", save(tmp_path, "x.npy", x), "--targets", save(tmp_path, "y.npy", y)]
    result = run("compute", *args, "--format", "json", "--by-class")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)

    def bce(logit: float, target: float) -> float:  # log(1 + e^x) - t x
        with mpmath.workdps(50):
            z = mpmath.mpf(logit)
            return float(mpmath.log1p(mpmath.exp(z)) - mpmath.mpf(target) * z)

    losses = [[bce(x[i, j], y[i, j]) for j in range(3)] for i in range(7)]
    total = math.fsum(v for row in losses for v in row)
    close(out["numerator"], total)
    assert out["denominator"] == 21
    shares = {j: math.fsum(losses[i][j] for i in range(7)) / total for j in range(3)}
    assert [row["label"] for row in out["by_class"]] == sorted(shares, key=lambda j: -shares[j])
    for row in out["by_class"]:
        j = row["label"]
        close(row["loss_share"], shares[j])
        close(row["mean_loss"], math.fsum(losses[i][j] for i in range(7)) / 7)
        assert row["positives"] == int(sum(y[:, j]))
        close(row["accuracy"], sum(1 for i in range(7) if (x[i, j] > 0) == (y[i, j] >= 0.5)) / 7)


@settings(max_examples=60, deadline=None)
@given(
    classes=st.sampled_from([2, 3, 7, 16, 17, 40]),  # both layouts: class-major up to 16 classes, rows above
    data=st.data(),
)
def test_ranks_count_the_strictly_larger_logits(classes: int, data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 12))
    values = st.sampled_from([-2.0, -0.5, 0.0, 0.5, 1.0, 3.0])  # few values: many ties
    rows = data.draw(st.lists(st.lists(values, min_size=classes, max_size=classes), min_size=n, max_size=n))
    targets = data.draw(st.lists(st.integers(0, classes - 1), min_size=n, max_size=n))
    inputs = validate_inputs(np.array(rows, dtype=np.float32), np.array(targets))
    ks = tuple(sorted({1, classes}))
    report = build_report(inputs, formula_spec("cross_entropy"), request=SummaryRequest(top_k=ks))
    assert report.losses.ranks is not None
    assert report.losses.ranks.tolist() == [rank(r, t) for r, t in zip(rows, targets, strict=True)]
    plain = build_report(inputs, formula_spec("cross_entropy"))
    assert plain.losses.ranks is None  # not asked for, not computed


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0.0, 1e-300], "█" + " " * 22 + "█"),  # a range too small for np.histogram
        ([-1e308, 1e308], "█" + " " * 22 + "█"),  # max - min overflows
        ([2.0, 2.0, 2.0], "█" + " " * 23),  # no range: every value in the first bin
        ([0.0, 1.0, 1.0, math.inf, math.nan], "▄" + " " * 22 + "█"),  # non-finite values left out
        ([math.nan], ""),
    ],
)
def test_histogram_bins_any_finite_range(values: list[float], expected: str) -> None:
    assert histogram(np.array(values)) == expected


def test_histogram_counts_in_equal_bins() -> None:
    # 0..23 and one more at 23: bin i holds i; the last bin twice as many, so the rest are half height
    drawn = histogram(np.arange(25.0).clip(max=23.0))
    assert drawn == "▄" * 23 + "█"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=False, width=64),
            st.sampled_from([0.0, 1.0, math.inf, -math.inf, math.nan, 1e-300]),
        ),
        min_size=1,
        max_size=60,
    )
)
@example([7.988602351714763e301, -1.7976923360020806e308])  # a span beyond float64: numpy says inf, quietly
def test_quantiles_are_numpys_to_the_bit(values: list[float]) -> None:
    """The summary's quantiles (without numpy.ma's import) are np.quantile's bits, NaN and inf included."""
    from ce_cli.families.softmax.summary import QUANTILES, quantiles

    array = np.array(values)
    before = array.copy()
    with np.errstate(invalid="ignore", over="ignore"):
        theirs = np.quantile(array, [q for _, q in QUANTILES])
    ours = quantiles(array)
    assert np.array_equal(np.array(list(ours.values())), theirs, equal_nan=True)
    assert np.array_equal(array, before, equal_nan=True)  # partitioned a copy, not the caller's array
