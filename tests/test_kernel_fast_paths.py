"""The compiled kernel's fast paths, each against an independent reference and the numpy path.

- ``log1p`` of a non-negative argument with one division (the row sums' and ``log1p(exp(-|x|))``'s),
  against mpmath;
- two float32 classes side by side (``index_pairs_f32``): losses, the mean's denominator, the
  predictions, the target-is-maximum flags, the row checks and each row's maximum and log-sum-exp;
- the binary family's fused tiles (unweighted logits, float32 or float64 logits and targets), and their
  ``log1p`` on [0, 1] (with AVX2 and AVX-512, from a table, without a division), against mpmath;
- targets whose range the functional API leaves to the kernel's pass: refused with the message
  :func:`ce_cli.families.softmax.inputs.validate_inputs` gives, on every kernel.

Every test runs on each CPU variant this machine supports (see ``tests/test_native.py``).
"""

from __future__ import annotations

import re
from typing import Any

import mpmath
import numpy as np
import pytest

import ce_cli
import ce_cli.native as native
from ce_cli.errors import TargetError
from ce_cli.families.softmax.inputs import validate_inputs
from ce_cli.families.softmax.losses import evaluate
from ce_cli.formulas import formula_spec
from tests.test_native import KERNELS, _both, assert_agree, kernel_map, needs_kernel, ulps

LOG1P_NONNEG = 5  # the kernel's map: log1p on [0, 2^1000]
LOG1P_BINARY = 6  # the kernel's map: log1p on [0, 1] as the binary loss computes it (AVX2, AVX-512: a table)


@pytest.fixture(params=KERNELS)
def kernel(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> native.Kernel:
    """Each runnable CPU variant in turn, made the active kernel."""
    if not native.runnable_variants():
        pytest.skip("no compiled kernel in this install")
    monkeypatch.setenv(native.ENVIRONMENT, request.param)
    return native.active()


@needs_kernel
def test_log1p_of_a_nonnegative_argument_with_one_division_is_within_1_ulp(kernel: native.Kernel) -> None:
    """The row sums' log1p (one division for fdlibm's two): every binade up to 2^1000, the edges of the
    reduction (sqrt(2) and its powers of two), and the values where 1 + x rounds."""
    rng = np.random.default_rng(11)
    edges = np.sqrt(2.0) * 2.0 ** np.arange(-1, 60, dtype=np.float64) - 1.0
    x = np.concatenate(
        [
            np.linspace(0.0, 1.0, 2001),
            np.linspace(1.0, 1000.0, 2001),
            10.0 ** rng.uniform(-320, 301, 2000),
            np.nextafter(edges, 0.0),
            edges,
            np.nextafter(edges, np.inf),
            2.0 ** -np.arange(1, 60, dtype=np.float64) * 1.5,  # 1 + x rounds, and c carries the rest
            [2.0**1000, 5e-324, 1.0, 2.0],
        ]
    )
    errors = ulps(kernel_map(kernel, LOG1P_NONNEG, x), mpmath.log1p, x)
    assert errors.max() <= 1.0, f"{errors.max():.3f} ulp at x = {x[errors.argmax()]!r}"
    assert errors.mean() < 0.35
    special = kernel_map(kernel, LOG1P_NONNEG, np.array([np.inf, np.nan, 0.0]))
    assert special[0] == np.inf
    assert np.isnan(special[1])
    assert special[2] == 0.0


def _pairs(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """float32 two-class logits with NaN, infinities, ties, -inf padding and huge gaps; targets with ignored rows."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((rows, 2)) * 6).astype(np.float32)
    x[1] = [np.nan, 1.0]
    x[2] = [1.0, np.inf]
    x[3] = [-np.inf, -np.inf]
    x[4] = [2.5, 2.5]  # a tie at the maximum
    x[5] = [-np.inf, 3.0]
    x[6] = [3e38, -3e38]
    x[7] = [40.0, 0.0]  # a loss near 4e-18 for target 0
    t = rng.integers(0, 2, rows)
    t[7] = 0
    t[9:1500:97] = -100
    return x, t


def _exact_losses(x: np.ndarray, t: np.ndarray, weight: np.ndarray | None) -> list[float]:
    """mpmath's -w[t] (x[t] - log(exp(x0) + exp(x1))) for finite rows; 0 for ignored ones."""
    mpmath.mp.prec = 120
    out = []
    for (a, b), target in zip(x.astype(np.float64).tolist(), t.tolist(), strict=True):
        if target == -100:
            out.append(0.0)
            continue
        at, other = (mpmath.mpf(a), mpmath.mpf(b)) if target == 0 else (mpmath.mpf(b), mpmath.mpf(a))
        loss = mpmath.log1p(mpmath.exp(other - at))  # log(e^a + e^b) - x[t], without its cancellation
        out.append(float(loss * (1 if weight is None else mpmath.mpf(float(weight[target])))))
    return out


@needs_kernel
@pytest.mark.parametrize("rows", [1, 7, 1023, 1024, 1025, 3000])  # a piece is 1024 rows
@pytest.mark.parametrize("weighted", [False, True])
def test_two_float32_classes_agree_with_mpmath_and_the_numpy_path(
    kernel: native.Kernel, monkeypatch: pytest.MonkeyPatch, rows: int, weighted: bool
) -> None:
    x, t = _pairs(max(rows, 10), rows)
    x, t = x[:rows], t[:rows]
    weight = np.array([0.3, 2.5]) if weighted else None
    spec = formula_spec("cross_entropy")
    found, expected = _both(
        monkeypatch,
        kernel,
        lambda: evaluate(validate_inputs(x, t, weight=weight), spec, predictions=True, row_stats=True),
    )
    assert_agree(found.per_sample, expected.per_sample)
    finite = np.isfinite(x.astype(np.float64)).all(axis=1)
    exact = np.array(_exact_losses(x[finite], t[finite], weight))
    np.testing.assert_allclose(found.per_sample[finite], exact, rtol=2e-15, atol=0.0)
    assert found.denominator == pytest.approx(expected.denominator, rel=1e-14)
    np.testing.assert_array_equal(found.predicted, expected.predicted)
    np.testing.assert_array_equal(found.target_is_max, expected.target_is_max)
    assert found.checks == expected.checks
    # each row's maximum and log-sum-exp, as diff's KL reads them: numpy's max and mpmath's log Σ exp(x - max)
    assert found.row_stats is not None
    maximum, lse = found.row_stats
    wide = x.astype(np.float64)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(maximum, np.where(np.isnan(wide).any(axis=1), np.nan, wide.max(axis=1)))
    for i in np.flatnonzero(np.isfinite(maximum))[:200]:
        a, b = (mpmath.mpf(v) - mpmath.mpf(maximum[i]) for v in wide[i])
        assert lse[i] == pytest.approx(float(mpmath.log(mpmath.exp(a) + mpmath.exp(b))), rel=3e-16, abs=0.0)  # 1 ulp


@needs_kernel
@pytest.mark.parametrize("keep", [False, True])
def test_two_float32_classes_for_every_length(kernel: native.Kernel, keep: bool) -> None:
    """index_losses on two float32 classes, for lengths 1 to 40 (whole vectors of rows and every tail),
    with the maxima and log p kept or not: the losses, the target-is-maximum flags, the extremes of the
    row maxima, the non-finite losses and the denominator against numpy; and a target outside {0, 1} at
    each row refused with that row named."""
    assert kernel.module is not None
    rng = np.random.default_rng(14)
    pool = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 0.5, 1.0, -2.0, 40.0], dtype=np.float32)
    for n in range(1, 41):
        x = np.where(rng.random((n, 2)) < 0.3, rng.choice(pool, (n, 2)), rng.standard_normal((n, 2)) * 4)
        x = x.astype(np.float32)
        if n % 3 == 0:  # rows of probabilities: every maximum in [0, 1] (inf / inf: NaN)
            with np.errstate(invalid="ignore"):
                x = np.abs(x) / (1.0 + np.abs(x))
        t = rng.integers(0, 2, n)
        t[rng.random(n) < 0.2] = -100
        loss, top = np.full(n, 7.0), np.zeros(n, dtype=bool)
        log_p, maximum, lse = (np.empty(n), np.empty(n), np.empty(n)) if keep else (None, None, None)
        denominator, lowest, highest, non_finite, _ = kernel.module.index_losses(
            kernel.index, x, t, -100, None, loss, log_p, top, maximum, None, None, lse
        )
        wide = x.astype(np.float64)
        row_max = np.where(np.isnan(wide).any(axis=1), np.nan, wide.max(axis=1))
        at = wide[np.arange(n), np.where(t == -100, 0, t)]
        with np.errstate(invalid="ignore"):
            np.testing.assert_array_equal(top, at - row_max == 0.0, err_msg=f"n = {n}")
        finite = np.isfinite(wide).all(axis=1)
        exact = _exact_losses(x[finite], t[finite], None)
        np.testing.assert_allclose(loss[finite], exact, rtol=2e-15, atol=0.0, err_msg=f"n = {n}")
        assert non_finite == np.count_nonzero(~np.isfinite(loss)), n
        assert denominator == np.count_nonzero(t != -100), n
        if np.isnan(row_max).any():
            assert np.isnan(lowest), n
            assert np.isnan(highest), n
        else:
            assert (lowest, highest) == (row_max.min(), row_max.max()), n
        if keep:
            assert log_p is not None
            assert lse is not None
            np.testing.assert_array_equal(maximum, row_max, err_msg=f"n = {n}")
            counted = finite & (t != -100)
            np.testing.assert_array_equal(log_p[counted], -loss[counted], err_msg=f"n = {n}")
            mpmath.mp.prec = 120
            gaps = -np.abs(wide[finite, 0] - wide[finite, 1])  # log(e^a + e^b) - max: log1p(exp(-|a - b|))
            exact_lse = [float(mpmath.log1p(mpmath.exp(mpmath.mpf(gap)))) for gap in gaps.tolist()]
            np.testing.assert_allclose(lse[finite], exact_lse, rtol=2e-15, atol=0.0, err_msg=f"n = {n}")
            # -inf beside a finite maximum: log1p(exp(-inf)) = 0; a maximum that is not finite: NaN
            assert (lse[~finite & np.isfinite(row_max)] == 0.0).all(), n
            assert np.isnan(lse[~np.isfinite(row_max)]).all(), n
        for row in range(n):
            for bad in (2, -1):
                refused = t.copy()
                refused[row] = bad
                with pytest.raises(IndexError, match=rf"target {bad} at row {row} is"):
                    kernel.module.index_losses(
                        kernel.index, x, refused, -100, None, loss, log_p, top, maximum, None, None, None
                    )


@needs_kernel
@pytest.mark.parametrize("classes", [2, 10])
def test_probability_rows_are_seen_when_the_kernel_keeps_no_maxima(
    kernel: native.Kernel, monkeypatch: pytest.MonkeyPatch, classes: int
) -> None:
    """Without row statistics the kernel keeps no row maxima, and the row checks take them from the rows
    only where every maximum is in [0, 1]: probabilities given as logits are still seen, zeros counted."""
    rng = np.random.default_rng(15)
    x = rng.dirichlet(np.ones(classes), 3000).astype(np.float32)
    x[::7, 0], x[::7, 1:] = 0.0, x[::7, 1:] / x[::7, 1:].sum(axis=1, keepdims=True)
    t = rng.integers(0, classes, 3000)
    spec = formula_spec("cross_entropy")
    found, expected = _both(monkeypatch, kernel, lambda: evaluate(validate_inputs(x, t), spec))
    assert found.checks == expected.checks
    assert found.checks.all_probability_like
    assert found.checks.zero_probability == len(x[::7])
    logits = x * 10.0  # maxima outside [0, 1]: settled without a pass over the rows
    found, expected = _both(monkeypatch, kernel, lambda: evaluate(validate_inputs(logits, t), spec))
    assert found.checks == expected.checks
    assert not found.checks.all_probability_like


@needs_kernel
def test_the_binary_loss_log1p_is_within_0_8_ulp(kernel: native.Kernel) -> None:
    """log1p(e) for e = exp(-|x|) in [0, 1]: dense, every binade down to the subnormals, and both sides of
    the tables' interval edges ((i + 1/2) / N, where the index changes) and of their entries (i / N), for
    AVX-512's N = 15 and AVX2's N = 127."""
    rng = np.random.default_rng(12)
    edges = np.concatenate([(np.arange(n) + 0.5) / n for n in (15, 127)] + [np.arange(1, n + 1) / n for n in (15, 127)])
    e = np.concatenate(
        [
            np.linspace(0.0, 1.0, 6001),
            rng.uniform(0.0, 1.0, 4000),
            10.0 ** rng.uniform(-323, 0, 1500),
            np.nextafter(edges, 0.0),
            edges,
            np.nextafter(edges, 1.0)[:-1],
            [5e-324, 2.2250738585072014e-308, 1.0, 0.0],
        ]
    )
    errors = ulps(kernel_map(kernel, LOG1P_BINARY, e), mpmath.log1p, e)
    assert errors.max() <= 0.8, f"{errors.max():.3f} ulp at e = {e[errors.argmax()]!r}"
    assert errors.mean() < 0.3
    special = kernel_map(kernel, LOG1P_BINARY, np.array([np.nan, 0.0, 1.0]))
    assert np.isnan(special[0])
    assert special[1] == 0.0
    assert special[2] == float(mpmath.log(2))


@needs_kernel
@pytest.mark.parametrize("dtypes", [(np.float32, np.float32), (np.float32, np.float64), (np.float64, np.float32)])
def test_binary_fused_counts_and_hits_for_every_length(kernel: native.Kernel, dtypes: tuple[type, type]) -> None:
    """The kernel's counts (infinite logits, logits outside [0, 1], non-finite logit and loss, targets
    outside [0, 1]) and its hits, for lengths 1 to 40 (whole vectors and every tail), against numpy."""
    assert kernel.module is not None
    rng = np.random.default_rng(13)
    pool = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 0.5, 1.0, 1.5, -2.0, 40.0])
    for n in range(1, 41):
        x: np.ndarray = np.where(rng.random(n) < 0.5, rng.choice(pool, n), rng.standard_normal(n) * 4).astype(dtypes[0])
        t: np.ndarray = rng.choice(np.array([0.0, 1.0, 0.3, 0.5, 1.5, -0.1, np.nan]), n).astype(dtypes[1])
        out, hits = np.empty(n), np.empty(n, dtype=bool)
        special, outside, non_finite, bad = kernel.module.binary(
            kernel.index, 0, x, t, None, None, -np.inf, np.inf, out, hits, True
        )
        wide = x.astype(np.float64)
        assert special == np.count_nonzero(np.isinf(wide)), n
        assert outside == np.count_nonzero(~((wide >= 0) & (wide <= 1))), n
        assert non_finite == np.count_nonzero(~np.isfinite(wide) & ~np.isfinite(out)), n
        assert bad == np.count_nonzero(~((t >= 0) & (t <= 1))), n
        np.testing.assert_array_equal(hits, (x > 0) == (t >= 0.5))
        finite = np.isfinite(wide) & (t >= 0) & (t <= 1)
        v, w = wide[finite], t[finite].astype(np.float64)
        expected = np.logaddexp(0.0, -v) * w + np.logaddexp(0.0, v) * (1 - w)  # numpy's own, a reference
        np.testing.assert_allclose(out[finite], expected, rtol=1e-14, atol=0.0)


@needs_kernel
@pytest.mark.parametrize("x_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("t_dtype", [np.float32, np.float64])
def test_binary_fused_tiles_agree_with_the_numpy_path_in_every_dtype_pair(
    kernel: native.Kernel, monkeypatch: pytest.MonkeyPatch, x_dtype: type, t_dtype: type
) -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal(2500) * 15
    x[:8] = [np.inf, -np.inf, np.nan, 0.0, -0.0, 40.0, -745.0, 1e30]
    t = rng.random(2500)
    t[:1200] = t[:1200] > 0.5
    ours, theirs = _both(
        monkeypatch, kernel, ce_cli.binary_cross_entropy_with_logits, x.astype(x_dtype), t.astype(t_dtype),
        reduction="none",
    )  # fmt: skip
    assert_agree(ours, theirs)
    # PyTorch's arrangement where a logit is infinite (0 or inf), NaN where it is NaN
    assert ours[0] == pytest.approx(t[0] * 0.0 + (1 - t[0]) * np.inf if t[0] < 1 else 0.0)
    assert np.isnan(ours[2])
    mpmath.mp.prec = 120
    for i in range(3, 2500, 37):
        value, target = mpmath.mpf(float(x.astype(x_dtype)[i])), mpmath.mpf(float(t.astype(t_dtype)[i]))
        exact = target * mpmath.log1p(mpmath.exp(-value)) + (1 - target) * mpmath.log1p(mpmath.exp(value))
        assert ours[i] == pytest.approx(float(exact), rel=1e-14, abs=0.0)


@needs_kernel
@pytest.mark.parametrize("layout", ["strided", "float16"])
def test_binary_logits_the_tiles_cannot_read_in_place_agree(
    kernel: native.Kernel, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    """Strided or float16 logits: the same tile, on float64 copies of each tile, as the numpy path."""
    rng = np.random.default_rng(8)
    wide = rng.standard_normal(5000) * 10
    wide[:6] = [np.inf, -np.inf, np.nan, 0.0, 40.0, -40.0]
    x: np.ndarray = wide[::2] if layout == "strided" else wide[:2500].astype(np.float16)
    t = (rng.random(2500) < 0.4).astype(np.float64)
    ours, theirs = _both(monkeypatch, kernel, ce_cli.binary_cross_entropy_with_logits, x, t, reduction="none")
    assert_agree(ours, theirs)
    t[17] = 2.0  # and the targets' range, checked in the same pass
    with pytest.raises(TargetError, match=re.escape("2.0 is not one")):
        ce_cli.binary_cross_entropy_with_logits(x, t, reduction="none")


@needs_kernel
@pytest.mark.parametrize("bad", [1.5, -0.25, np.nan])
@pytest.mark.parametrize("x_dtype", [np.float32, np.float64])
def test_binary_targets_outside_0_1_are_refused_in_the_kernels_pass(
    kernel: native.Kernel, monkeypatch: pytest.MonkeyPatch, bad: float, x_dtype: type
) -> None:
    x: np.ndarray = np.linspace(-3, 3, 5000).astype(x_dtype)
    t = (x > 0).astype(np.float32)
    t[3777] = bad
    expected = f"targets: binary targets are 0/1 or probabilities in [0, 1], and {float(np.float32(bad))!r} is not one"
    for active in (f"native-{kernel.variant}", "numpy"):
        monkeypatch.setenv(native.ENVIRONMENT, active)
        with pytest.raises(TargetError, match=re.escape(expected)):
            ce_cli.binary_cross_entropy_with_logits(x, t, reduction="none")
        with pytest.raises(TargetError, match=re.escape(expected)):  # the same message with a weight
            ce_cli.binary_cross_entropy_with_logits(x, t, weight=np.ones(5000))


@needs_kernel
@pytest.mark.parametrize("classes", [1, 2, 3, 40])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_index_targets_out_of_range_are_refused_with_validates_message(
    kernel: native.Kernel, monkeypatch: pytest.MonkeyPatch, classes: int, dtype: type
) -> None:
    x: np.ndarray = np.zeros((3000, classes), dtype=dtype)
    for bad, position in ((classes, 2999), (-1, 1500), (classes + 7, 0)):
        t = np.zeros(3000, dtype=np.int64)
        t[position] = bad
        t[position + 1 :: 2] = -100 if position + 1 < 3000 else 0
        with pytest.raises(TargetError) as refused:
            validate_inputs(x, t)  # the message validate gives when it checks the range itself
        for active in (f"native-{kernel.variant}", "numpy"):
            monkeypatch.setenv(native.ENVIRONMENT, active)
            options: list[dict[str, Any]] = [{}, {"weight": np.ones(classes)}, {"label_smoothing": 0.1}]
            for extra in options:
                with pytest.raises(TargetError) as found:
                    ce_cli.cross_entropy(x, t, reduction="none", **extra)
                assert str(found.value) == str(refused.value)
                assert getattr(found.value, "row", None) == position


@needs_kernel
@pytest.mark.parametrize("classes", [3, 4, 5, 8, 10, 13, 16])
def test_float32_rows_of_few_classes_give_exact_maxima_predictions_and_ranks(
    kernel: native.Kernel, classes: int
) -> None:
    """Rows of 3 to 16 float32 classes (with AVX2, read four rows and four classes at a time and transposed in
    registers, the maxima taken in float32): each row's maximum (its sign of zero too), the first class at
    it (the first NaN where one is), the target's rank and z, against numpy, for 1 to 40 rows (every tail)."""
    assert kernel.module is not None
    rng = np.random.default_rng(14)
    pool = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, 1.0, -3.5], dtype=np.float32)
    for n in (*range(1, 13), 37, 40):
        x = rng.standard_normal((n, classes)).astype(np.float32)
        special = rng.random((n, classes)) < 0.3
        x[special] = rng.choice(pool, int(special.sum()))
        t = rng.integers(0, classes, n)
        maximum, target_z, lse_z = np.empty(n), np.empty(n), np.empty(n)
        argmax, rank = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
        kernel.module.softmax_rows(kernel.index, x, t, maximum, target_z, lse_z, argmax, rank)
        wide = x.astype(np.float64)
        for i in range(n):
            row = wide[i]
            if np.isnan(row).any():
                assert np.isnan(maximum[i]), (n, i)
                assert argmax[i] == int(np.flatnonzero(np.isnan(row))[0]), (n, i)
                continue
            top = row[0]
            for value in row[1:]:  # the first maximum under a strict >, as PyTorch's argmax
                top = value if value > top else top
            assert maximum[i] == top, (n, i)
            assert np.signbit(maximum[i]) == np.signbit(top), (n, i)
            assert argmax[i] == int(np.flatnonzero(row == top)[0]), (n, i)
            assert rank[i] == 1 + int(np.count_nonzero(row > row[t[i]])), (n, i)
            if np.isfinite(top):
                assert target_z[i] == row[t[i]] - top, (n, i)
