"""Per-sample KL(p_baseline || p_new): numpy and the compiled kernel against mpmath, and their edges."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ce_cli.native as native
from ce_cli.families.softmax.inputs import validate_inputs
from ce_cli.families.softmax.losses import evaluate, evaluate_pair
from ce_cli.formulas import formula_spec
from ce_cli.paired.kl import kl_from_cross, kl_per_sample, kl_rows

KERNELS = ["numpy", *(f"native-{v}" for v in native.runnable_variants())]


def row_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Each row's maximum and log-sum-exp as ``compute`` keeps them for ``diff`` (``None`` without the kernel)."""
    inputs = validate_inputs(x, np.zeros(len(x), dtype=np.int64))
    return evaluate(inputs, formula_spec("cross_entropy"), row_stats=True).row_stats


MODES = ["two_exps", "row_stats_reused", "beside"]


def kl_of(new: np.ndarray, base: np.ndarray, mode: str) -> np.ndarray:
    """``kl_per_sample`` without (``two_exps``) or with the rows' statistics from ``compute``
    (``row_stats_reused``), or (``beside``) from the cross ratios the baseline's evaluation makes beside
    NEW's rows in one pass over both (``evaluate_pair``), as ``ce-loss diff`` runs it: rows of 16 classes or
    fewer are padded with -inf (classes neither model gives mass, which change no KL) to reach the compiled
    path, which must run on every vector variant."""
    if mode == "two_exps":
        return kl_per_sample(new, base)
    if mode == "beside" and new.shape[1] <= 16:
        pad = np.full((len(new), 17 - new.shape[1]), -np.inf, dtype=new.dtype)
        new, base = np.concatenate([new, pad], axis=1), np.concatenate([base, pad], axis=1)
    stats = (row_stats(new), row_stats(base))
    known = None if stats[0] is None or stats[1] is None else (stats[0], stats[1])
    if mode == "row_stats_reused" or known is None:
        return kl_per_sample(new, base, known=known)
    targets = np.zeros(len(base), dtype=np.int64)
    pair = evaluate_pair(validate_inputs(new, targets), validate_inputs(base, targets), formula_spec("cross_entropy"))
    assert pair is not None
    assert pair[0].row_stats is not None
    assert pair[1].row_stats is not None
    np.testing.assert_array_equal(pair[0].row_stats[1], known[0][1])  # each model's lse, as compute's
    np.testing.assert_array_equal(pair[1].row_stats[1], known[1][1])
    cross = pair[1].cross_ratio
    vector = native.active().variant in ("avx2", "avx512")
    assert (cross is not None) == vector  # the fused pass runs wherever there is vector code, and only there
    return kl_per_sample(new, base, known=known) if cross is None else kl_from_cross(cross, known)


@pytest.fixture(params=MODES)
def reuse(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_row_stats_come_from_the_kernel_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    x = np.random.default_rng(1).standard_normal((5, 4))
    monkeypatch.setenv(native.ENVIRONMENT, "numpy")
    assert row_stats(x) is None  # the numpy path keeps none: the KL then takes two exps per class
    if native.runnable_variants():
        monkeypatch.setenv(native.ENVIRONMENT, "native")
        stats = row_stats(x)
        assert stats is not None
        np.testing.assert_array_equal(stats[0], x.max(axis=1))
        lse = np.log(np.sum(np.exp(x - x.max(axis=1, keepdims=True)), axis=1))
        np.testing.assert_allclose(stats[1], lse, rtol=1e-15)


def mp_kl(base: list[float], new: list[float]) -> float:
    mpmath.mp.dps = 50
    pb = [mpmath.exp(mpmath.mpf(v)) if v != -math.inf else mpmath.mpf(0) for v in base]
    px = [mpmath.exp(mpmath.mpf(v)) if v != -math.inf else mpmath.mpf(0) for v in new]
    sb, sx = sum(pb), sum(px)
    total = mpmath.mpf(0)
    for p, q in zip(pb, px, strict=True):
        if p == 0:
            continue
        if q == 0:
            return math.inf
        total += p / sb * mpmath.log((p / sb) / (q / sx))
    return float(total)


@pytest.fixture(params=KERNELS)
def kernel(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(native.ENVIRONMENT, request.param)
    return str(request.param)


rows = st.integers(1, 40).flatmap(
    lambda c: st.tuples(
        hnp.arrays(np.float64, (3, c), elements=st.floats(-30, 30)),
        hnp.arrays(np.float64, (3, c), elements=st.floats(-2, 2)),
        st.sampled_from([np.float32, np.float64]),
    )
)


@pytest.mark.parametrize("reused", MODES)
@pytest.mark.parametrize("kernel_name", KERNELS)
@settings(max_examples=40, deadline=None)
@given(data=rows)
def test_kl_matches_mpmath(kernel_name: str, reused: str, data: tuple[np.ndarray, np.ndarray, type]) -> None:
    base, step, dtype = data
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(native.ENVIRONMENT, kernel_name)
        _check_against_mpmath(base, step, dtype, reused)


def _check_against_mpmath(base: np.ndarray, step: np.ndarray, dtype: type, reused: str) -> None:
    base = base.astype(dtype)
    new = (base + step).astype(dtype)
    got = kl_of(new, base, reused)
    for i in range(3):
        exact = mp_kl(base[i].astype(np.float64).tolist(), new[i].astype(np.float64).tolist())
        assert got[i] == pytest.approx(exact, rel=1e-10, abs=1e-13), i


def test_the_same_model_has_no_divergence(kernel: str, reuse: str) -> None:
    x = np.random.default_rng(0).standard_normal((50, 1000)).astype(np.float32) * 5
    assert np.all(kl_of(x, x, reuse) == 0.0)


def test_edges(kernel: str, reuse: str) -> None:
    inf = math.inf
    base = np.array([[0.0, -inf, 1.0], [0.0, 1.0, 2.0], [0.0, 1.0, np.nan], [-inf, -inf, -inf], [inf, 0.0, 0.0]])
    new = np.array([[0.0, 3.0, 1.0], [0.0, -inf, 2.0], [0.0, 1.0, 2.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    got = kl_of(new, base, reuse)
    assert got[0] == pytest.approx(mp_kl([0.0, -inf, 1.0], [0.0, 3.0, 1.0]), rel=1e-12)  # p_b = 0 adds nothing
    assert got[1] == inf  # the baseline's mass where NEW has none
    assert np.isnan(got[2:]).all()  # NaN, no distribution, an infinite logit
    far = kl_of(np.array([[0.0, -inf]]), np.array([[0.0, -800.0]]), reuse)
    assert far[0] == inf  # mass below exp's range, but mass: NEW gives none
    np.testing.assert_array_equal(np.isnan(kl_rows(base, new)), np.isnan(got))


def test_the_compiled_kernel_agrees_with_numpy(kernel: str, reuse: str) -> None:
    rng = np.random.default_rng(4)
    base = rng.standard_normal((300, 257)).astype(np.float32)
    new = base + np.float32(0.05) * rng.standard_normal((300, 257)).astype(np.float32)
    np.testing.assert_allclose(kl_of(new, base, reuse), kl_rows(base, new), rtol=1e-11)


@pytest.mark.parametrize(
    ("base", "new"),
    [
        ([50.0, 0.0, 0.0], [45.0, 0.0, 0.0]),
        ([30.0, -5.0, -5.0], [31.0, -4.0, -6.0]),
        ([0.0, 60.0, 1.0], [0.0, 55.0, 1.0]),
    ],
)
def test_confident_rows_keep_their_kl(kernel: str, reuse: str, base: list[float], new: list[float]) -> None:
    """KL far below 1e-16 of its terms (both models sure of one class): no cancellation loses it."""
    got = kl_of(np.array([new]), np.array([base]), reuse)
    assert got[0] == pytest.approx(mp_kl(base, new), rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("classes", [17, 40, 1000])
def test_the_baseline_read_beside_new_keeps_computes_losses_to_the_bit(kernel: str, dtype: type, classes: int) -> None:
    """``diff`` evaluates both models in one pass, the baseline with NEW's rows beside it (its losses and the
    KL's sums): each model's losses, maxima, log-sum-exps and predictions are ``compute``'s, bit for bit."""
    rng = np.random.default_rng(classes)
    base: np.ndarray = (rng.standard_normal((301, classes)) * 4).astype(dtype)
    base[3, 5] = -np.inf
    base[4] = 2.0  # every class at the maximum
    base[5, 1] = np.nan
    new: np.ndarray = (base + rng.standard_normal(base.shape) * 0.3).astype(dtype)
    targets = rng.integers(0, classes, 301)
    spec = formula_spec("cross_entropy")
    models = (validate_inputs(new, targets), validate_inputs(base, targets))
    pair = evaluate_pair(*models, spec, predictions=True)
    if pair is None:  # numpy: each model evaluated apart, which is compute itself
        assert kernel == "numpy"
        return
    for inputs, together in zip(models, pair, strict=True):
        alone = evaluate(inputs, spec, predictions=True, row_stats=True)
        np.testing.assert_array_equal(together.per_sample, alone.per_sample)
        np.testing.assert_array_equal(together.predicted, alone.predicted)
        assert together.denominator == alone.denominator
        assert together.checks == alone.checks
        assert alone.row_stats is not None
        assert together.row_stats is not None
        np.testing.assert_array_equal(together.row_stats[0], alone.row_stats[0])
        np.testing.assert_array_equal(together.row_stats[1], alone.row_stats[1])
