"""The compiled kernel: its exp, log1p and log against mpmath, and its losses against the numpy path's.

Every test runs on each CPU variant this machine supports (``native-baseline``,
``native-avx2``, ``native-avx512`` on x86-64). Without a compiled kernel in
the install they are skipped, and :func:`test_without_a_compiled_kernel_numpy_runs`
checks what such an install does instead.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ce_cli
import ce_cli.native as native
from ce_cli.errors import OptionError
from tests.conftest import Run

VARIANTS = native.runnable_variants()
needs_kernel = pytest.mark.skipif(not VARIANTS, reason="no compiled kernel in this install")
KERNELS = [f"native-{v}" for v in VARIANTS] or ["native"]
EXP, LOG1P, LOG, LOG1P_UNIT, EXP_SCALED = 0, 1, 2, 3, 4


@pytest.fixture(params=KERNELS)
def kernel(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> native.Kernel:
    """Each runnable CPU variant in turn, made the active kernel."""
    if not VARIANTS:
        pytest.skip("no compiled kernel in this install")
    monkeypatch.setenv(native.ENVIRONMENT, request.param)
    return native.active()


def kernel_map(kernel: native.Kernel, which: int, x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    assert kernel.module is not None
    kernel.module.map(kernel.index, which, np.ascontiguousarray(x, dtype=np.float64), out)
    return out


def ulps(got: np.ndarray, exact: Callable[[Any], Any], x: np.ndarray) -> np.ndarray:
    """``|got - exact(x)|`` in units of the last place of the exact value (subnormals: 2^-1074)."""
    mpmath.mp.prec = 120
    errors = np.empty(len(x))
    for i, (value, result) in enumerate(zip(x.tolist(), got.tolist(), strict=True)):
        truth = exact(mpmath.mpf(value))
        unit = float(np.spacing(np.float64(abs(float(truth))))) if truth != 0 else 2.0**-1074
        errors[i] = float(abs(mpmath.mpf(result) - truth)) / unit
    return errors


@needs_kernel
def test_exp_is_within_1_5_ulp_over_the_whole_negative_range(kernel: native.Kernel) -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [
            np.linspace(-745.0, 0.0, 6001),  # dense over [-745, 0]
            rng.uniform(-745.2, -708.3, 1500),  # the subnormal results
            rng.uniform(-1e-3, 0.0, 500),
            -(2.0 ** -np.arange(1, 60, dtype=np.float64)),  # tiny arguments
            np.array([-745.1332191019411, -745.1332191019412, -744.44007192138121, -708.3964185322641]),
        ]
    )
    errors = ulps(kernel_map(kernel, EXP, x), mpmath.exp, x)
    assert errors.max() <= 1.5, f"{errors.max():.3f} ulp at x = {x[errors.argmax()]!r}"
    assert errors.mean() < 0.6


@needs_kernel
def test_table_exp_is_within_0_6_ulp_before_scaling_back(kernel: native.Kernel) -> None:
    """The kernels sum exp(x) 2^512, every value normal down to x = -1000: within 0.6 ulp (the table's tails)."""
    rng = np.random.default_rng(5)
    x = np.concatenate(
        [
            np.linspace(-1000.0, 0.0, 4001),
            rng.uniform(-5.0, 0.0, 3000),
            rng.uniform(-1000.0, -700.0, 500),  # results that would be subnormal without the 2^512
            -(2.0 ** -np.arange(1, 60, dtype=np.float64)),
            # the edges of the reduction: k / 256 ln 2 and halfway between, where r is largest
            -np.log(2.0) / 256 * np.arange(0.0, 3000.0, 0.5),
        ]
    )
    errors = ulps(kernel_map(kernel, EXP_SCALED, x), lambda v: mpmath.exp(v) * mpmath.mpf(2) ** 512, x)
    assert errors.max() <= 0.6, f"{errors.max():.3f} ulp at x = {x[errors.argmax()]!r}"
    assert errors.mean() < 0.3


@needs_kernel
def test_exp_special_values(kernel: native.Kernel) -> None:
    x = np.array([-np.inf, np.nan, 0.0, -0.0, -746.0, -1e300])  # the kernels' exp takes x <= 0 only
    got = kernel_map(kernel, EXP, x)
    assert got[0] == 0.0
    assert np.isnan(got[1])
    assert got[2] == 1.0
    assert got[3] == 1.0
    assert got[4] == 0.0
    assert got[5] == 0.0
    smallest = kernel_map(kernel, EXP, np.array([-745.1332191019411]))[0]
    assert smallest == 5e-324  # the least subnormal is kept, not flushed to zero


@needs_kernel
def test_log1p_and_log_are_within_1_ulp(kernel: native.Kernel) -> None:
    rng = np.random.default_rng(1)
    small = np.concatenate([np.linspace(-0.999, 3.0, 3001), 10.0 ** rng.uniform(-300, 15, 1500), [1e-320, 5e-324]])
    errors = ulps(kernel_map(kernel, LOG1P, small), mpmath.log1p, small)
    assert errors.max() <= 1.0, f"log1p: {errors.max():.3f} ulp at x = {small[errors.argmax()]!r}"
    positive = np.concatenate(
        [np.linspace(1e-6, 1.0, 3001), 10.0 ** rng.uniform(-320, 300, 1500), [5e-324, 2.2250738585072014e-308]]
    )
    errors = ulps(kernel_map(kernel, LOG, positive), mpmath.log, positive)
    assert errors.max() <= 1.0, f"log: {errors.max():.3f} ulp at x = {positive[errors.argmax()]!r}"
    unit = np.concatenate([np.linspace(0.0, 1.0, 3001), 10.0 ** rng.uniform(-320, 0, 1500)])  # exp(-|x|) in [0, 1]
    errors = ulps(kernel_map(kernel, LOG1P_UNIT, unit), mpmath.log1p, unit)
    assert errors.max() <= 1.0, f"log1p on [0, 1]: {errors.max():.3f} ulp at x = {unit[errors.argmax()]!r}"
    assert np.isnan(kernel_map(kernel, LOG1P_UNIT, np.array([np.nan]))[0])


@needs_kernel
def test_log1p_and_log_special_values(kernel: native.Kernel) -> None:
    got = kernel_map(kernel, LOG1P, np.array([-1.0, -2.0, np.inf, np.nan, 0.0, -0.0]))
    assert got[0] == -np.inf
    assert np.isnan(got[1])
    assert got[2] == np.inf
    assert np.isnan(got[3])
    assert got[4] == 0.0
    got = kernel_map(kernel, LOG, np.array([0.0, -1.0, np.inf, np.nan, 1.0]))
    assert got[0] == -np.inf
    assert np.isnan(got[1])
    assert got[2] == np.inf
    assert np.isnan(got[3])
    assert got[4] == 0.0


def _both(
    monkeypatch: pytest.MonkeyPatch, kernel: native.Kernel, call: Callable[..., Any], *args: Any, **options: Any
) -> tuple[Any, Any]:
    """``call(*args, **options)`` under the kernel, then under numpy."""
    assert native.active() == kernel
    ours = call(*args, **options)
    monkeypatch.setenv(native.ENVIRONMENT, "numpy")
    theirs = call(*args, **options)
    monkeypatch.setenv(native.ENVIRONMENT, f"native-{kernel.variant}")
    return ours, theirs


def assert_agree(ours: Any, theirs: Any, rtol: float = 1e-14) -> None:
    """Equal to ``rtol`` relative (NaN where NaN, infinities equal, tiny values relative too)."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=0.0)


def _logits(kind: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    x = rng.standard_normal(shape)
    if kind == "extreme":
        x = x * 1e4
        x.flat[:: max(1, x.size // 7)] = -np.inf
    elif kind == "confident":
        x = x * 0.1
        x[:, 0] += 40.0  # a loss near 4e-18 for target 0, which must keep its relative accuracy
    elif kind == "moderate":
        x[:, 0] += 7.0  # s = sum of the other terms near 1e-3: sum - 1 would lose 1e-13 relative
    elif kind == "close":
        x = 1e8 + x * 1e-7  # logits equal to many digits: ties and near-ties
    return x


@needs_kernel
@pytest.mark.parametrize("kind", ["random", "extreme", "confident", "moderate", "close"])
@pytest.mark.parametrize("classes", [1, 2, 5, 16, 17, 300])
@pytest.mark.parametrize("formula", ce_cli.FORMULAS)
def test_losses_agree_with_the_numpy_path(
    kernel: native.Kernel, monkeypatch: pytest.MonkeyPatch, kind: str, classes: int, formula: str
) -> None:
    rng = np.random.default_rng(classes)
    x = _logits(kind, (203, classes), rng)
    if formula == "naive":
        x = rng.dirichlet(np.ones(classes), 203)
    t = rng.integers(0, classes, 203)
    t[::5] = 0
    t[3] = -100
    weight = rng.uniform(0.5, 2.0, classes)
    for options in ({}, {"weight": weight}, {"label_smoothing": 0.1}, {"weight": weight, "label_smoothing": 0.3}):
        ours, theirs = _both(
            monkeypatch, kernel, ce_cli.cross_entropy, x, t, reduction="none", formula=formula, **options
        )
        assert_agree(ours, theirs)


@needs_kernel
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("formula", ce_cli.FORMULAS)
def test_probability_targets_dtypes_and_layouts_agree(
    kernel: native.Kernel, monkeypatch: pytest.MonkeyPatch, dtype: type, formula: str
) -> None:
    rng = np.random.default_rng(7)
    x: np.ndarray = rng.standard_normal((40, 6, 3)).astype(dtype)  # (N, C, d1): class axis 1
    if formula == "naive":
        x = np.moveaxis(rng.dirichlet(np.ones(6), (40, 3)), -1, 1).astype(dtype)
    soft = np.moveaxis(rng.dirichlet(np.ones(6), (40, 3)), -1, 1)
    hard = rng.integers(0, 6, (40, 3))
    for targets in (soft, hard):
        for options in ({}, {"label_smoothing": 0.2}, {"weight": rng.uniform(0.1, 3.0, 6)}):
            ours, theirs = _both(
                monkeypatch, kernel, ce_cli.cross_entropy, x, targets, reduction="none", formula=formula, **options
            )
            assert_agree(ours, theirs)
    strided: np.ndarray = np.asfortranarray(rng.standard_normal((50, 24)).astype(dtype))[
        :, ::3
    ]  # neither C nor F contiguous
    labels = rng.integers(0, 8, 50)
    ours, theirs = _both(monkeypatch, kernel, ce_cli.cross_entropy, strided, labels, reduction="none")
    assert_agree(ours, theirs)


@needs_kernel
@pytest.mark.parametrize("formula", ce_cli.FORMULAS)
def test_binary_losses_agree_with_the_numpy_path(
    kernel: native.Kernel, monkeypatch: pytest.MonkeyPatch, formula: str
) -> None:
    rng = np.random.default_rng(11)
    x = rng.standard_normal((300, 4)) * 20
    x[0, :] = [np.inf, -np.inf, 40.0, -745.0]
    t = rng.random((300, 4))
    t[:50] = t[:50] > 0.5
    options: list[dict[str, Any]] = [{}, {"weight": rng.uniform(0, 2, 4)}, {"pos_weight": rng.uniform(0.5, 3, 4)}]
    if formula == "naive":
        x = rng.random((300, 4))
        x[0, :] = [0.0, 1.0, 1e-300, 1 - 1e-16]
        options = [{}, {"weight": rng.uniform(0, 2, 4)}, {"eps": "auto"}, {"eps": 1e-7}]
        call = ce_cli.binary_cross_entropy
    for extra in options:
        for dtype in (np.float32, np.float64):
            if formula == "naive":
                ours, theirs = _both(monkeypatch, kernel, call, x.astype(dtype), t, reduction="none", **extra)
            else:
                ours, theirs = _both(
                    monkeypatch,
                    kernel,
                    ce_cli.binary_cross_entropy_with_logits,
                    x.astype(dtype),
                    t,
                    reduction="none",
                    formula=formula,
                    **extra,
                )
            assert_agree(ours, theirs)


@needs_kernel
@settings(max_examples=60, deadline=None)
@given(
    x=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=40),
        elements=st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_finite_logits_agree_with_the_numpy_path(x: np.ndarray, seed: int) -> None:
    targets = np.random.default_rng(seed).integers(0, x.shape[1], x.shape[0])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(native.ENVIRONMENT, "native")
        ours = ce_cli.cross_entropy(x, targets, reduction="none")
        patch.setenv(native.ENVIRONMENT, "numpy")
        theirs = ce_cli.cross_entropy(x, targets, reduction="none")
    assert_agree(ours, theirs)


@needs_kernel
def test_cli_results_are_the_same_on_every_kernel(run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    rng = np.random.default_rng(5)
    np.save(tmp_path / "x.npy", rng.standard_normal((2000, 7)).astype(np.float32))
    np.save(tmp_path / "t.npy", rng.integers(0, 7, 2000))
    args = ["compute", "-l", str(tmp_path / "x.npy"), "-t", str(tmp_path / "t.npy"), "--top-k", "3", "--by-class"]
    outputs = {}
    for choice in ["numpy", *KERNELS]:
        monkeypatch.setenv(native.ENVIRONMENT, choice)
        result = run(*args, "--format", "json", "--reduction", "none")
        assert result.exit_code == 0, result.stderr
        outputs[choice] = result.stdout
    import json

    reference = json.loads(outputs["numpy"])
    for choice, text in outputs.items():
        out = json.loads(text)
        assert out["ranks"] == reference["ranks"], choice
        assert out["top_k_accuracy"] == reference["top_k_accuracy"], choice
        assert [c["accuracy"] for c in out["by_class"]] == [c["accuracy"] for c in reference["by_class"]], choice
        assert_agree(out["losses"], reference["losses"])


@needs_kernel
def test_a_kernel_that_cannot_run_is_a_usage_error(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(native.ENVIRONMENT, "native-sse1")
    result = run("compute", "--logits", "1,2,3", "--targets", "0")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "CE_LOSS_KERNEL=native-sse1 is not a kernel; choose from numpy, native, native-baseline" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


class FakeKernelModule(ModuleType):
    """A compiled module as a CPU without AVX-512 would see it."""

    def __init__(self) -> None:
        super().__init__("fake")

    def variants(self) -> tuple[str, ...]:
        return ("baseline", "avx2", "avx512")

    def cpu_supports(self, index: int) -> bool:
        return index < 2


def test_a_variant_the_cpu_lacks_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "_compiled", FakeKernelModule)
    native.select.cache_clear()
    try:
        with pytest.raises(OptionError, match=r"this CPU cannot run the avx512 variant \(it runs: baseline, avx2\)"):
            native.select("native-avx512")
        assert native.select("native").variant == "avx2"
        assert native.select("").describe() == "native (avx2)"
        assert native.select("native-baseline").index == 0
    finally:
        native.select.cache_clear()


def test_without_a_compiled_kernel_numpy_runs(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native, "_compiled", lambda: None)
    native.select.cache_clear()
    try:
        monkeypatch.delenv(native.ENVIRONMENT, raising=False)
        assert native.active().describe() == "numpy (no compiled kernel in this install)"
        result = run("--version")
        assert result.stdout.splitlines()[1] == "kernel: numpy (no compiled kernel in this install)"
        result = run("compute", "--logits", "0.1234,0.5555,0.3211", "--targets", "0", "--format", "json")
        assert result.exit_code == 0
        monkeypatch.setenv(native.ENVIRONMENT, "native")
        result = run("compute", "--logits", "1,2,3", "--targets", "0")
        assert result.exit_code == 2
        assert "this install has no compiled kernel" in result.stderr
    finally:
        native.select.cache_clear()


@needs_kernel
def test_version_names_the_kernel_and_the_cpu_variants(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    best = VARIANTS[-1]
    monkeypatch.delenv(native.ENVIRONMENT, raising=False)
    assert run("--version").stdout.splitlines()[1] == f"kernel: native ({best}); this CPU runs {', '.join(VARIANTS)}"
    monkeypatch.setenv(native.ENVIRONMENT, "numpy")
    assert run("--version").stdout.splitlines()[1].startswith("kernel: numpy; this CPU runs")
    monkeypatch.setenv(native.ENVIRONMENT, "native-baseline")
    assert run("--version").stdout.splitlines()[1].startswith("kernel: native (baseline)")


@needs_kernel
def test_the_kernel_refuses_a_variant_index_the_cpu_cannot_run() -> None:
    module = native.select("native").module  # whichever kernel CE_LOSS_KERNEL chose for the rest
    assert module is not None
    with pytest.raises(ValueError, match="not available on this machine"):
        module.map(99, 0, np.zeros(2), np.zeros(2))


@needs_kernel
def test_a_memory_mapped_input_agrees(kernel: native.Kernel, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    rng = np.random.default_rng(9)
    np.save(tmp_path / "x.npy", rng.standard_normal((300, 40, 2)).astype(np.float32))
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")  # (N, C, d1), read through the buffer protocol
    targets = rng.integers(0, 40, (300, 2))
    ours, theirs = _both(monkeypatch, kernel, ce_cli.cross_entropy, mapped, targets, reduction="none")
    assert_agree(ours, theirs)
    ours, theirs = _both(
        monkeypatch, kernel, ce_cli.cross_entropy, mapped[:, :, 0], targets[:, 0], reduction="none", label_smoothing=0.2
    )
    assert_agree(ours, theirs)


@needs_kernel
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("classes", [2, 3, 6, 10, 16, 17, 33, 300])
def test_rows_with_nan_inf_ties_and_padding_agree_in_their_own_dtype(
    kernel: native.Kernel, monkeypatch: pytest.MonkeyPatch, dtype: type, classes: int
) -> None:
    """Rows read in their own dtype (float32 is never copied to float64): NaN, +inf, only -inf, ties at the
    maximum and -inf padding give the numpy path's losses, predictions and ranks."""
    rng = np.random.default_rng(classes)
    x: np.ndarray = rng.standard_normal((64, classes)).astype(dtype)
    x[1, classes // 2] = np.nan
    x[2, -1] = np.inf
    x[3] = -np.inf
    x[4] = 3.0  # every class at the maximum
    x[5, : classes // 2] = -np.inf  # padding
    x[6, 0] = x[6, -1] = np.float32(9.5)  # a tie between the first and the last class
    x[7, -2] = np.nan  # in the last two classes, which the AVX2 tile reads as a pair when C mod 4 is 2
    x[9, -2] = x[9, -1] = np.float32(7.25)  # a tie between them, the maximum
    x[10, -1] = 11.0
    t = rng.integers(0, classes, 64)
    ours, theirs = _both(monkeypatch, kernel, ce_cli.cross_entropy, x, t, reduction="none")
    assert_agree(ours, theirs)
    assert np.isnan(ours[[1, 2, 3, 7]]).all()
    assert ours[4] == pytest.approx(np.log(classes), rel=1e-15)
    from ce_cli.families.softmax.inputs import validate_inputs
    from ce_cli.families.softmax.losses import evaluate
    from ce_cli.formulas import formula_spec

    spec = formula_spec("cross_entropy")
    found, expected = _both(
        monkeypatch, kernel, lambda: evaluate(validate_inputs(x, t), spec, predictions=True, ranks=True)
    )
    np.testing.assert_array_equal(found.predicted, expected.predicted)
    np.testing.assert_array_equal(found.ranks, expected.ranks)
