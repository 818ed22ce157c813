"""The math against independent oracles: mpmath at high precision and published values."""

from __future__ import annotations

import math
from typing import Any

import mpmath
import numpy as np
import pytest

import ce_cli
from ce_cli import cross_entropy, log_softmax, logsumexp
from ce_cli.errors import OptionError, ShapeError, TargetError
from tests.conftest import LOGIT_FORMULAS, ORACLES, WORKED_LOGITS, WORKED_TARGETS, assert_close, mp_loss, mp_naive

EXACT = LOGIT_FORMULAS


def test_public_api_is_reexported_from_its_modules() -> None:
    from ce_cli import formulas, functional, log_sum_exp
    from ce_cli.families.softmax import losses

    assert ce_cli.cross_entropy is functional.cross_entropy
    assert (ce_cli.logsumexp, ce_cli.log_softmax) == (log_sum_exp.logsumexp, log_sum_exp.log_softmax)
    assert ce_cli.FORMULAS == formulas.FORMULAS == tuple(formulas.REGISTRY)
    assert ce_cli.REDUCTIONS == losses.REDUCTIONS == ("mean", "sum", "none")
    assert [name for name in ce_cli.__all__ if not hasattr(ce_cli, name)] == []


def test_every_formula_has_an_independent_oracle() -> None:
    assert list(ORACLES) == list(ce_cli.FORMULAS)


def test_the_numeric_core_imports_neither_typer_nor_rich() -> None:
    import subprocess
    import sys

    softmax = "ce_cli.families.softmax"
    modules = (
        f"ce_cli, {softmax}.report, ce_cli.comparison, {softmax}.derivation, ce_cli.io.inputs, ce_cli.io.losses_file"
    )
    modules += f", {softmax}.render, ce_cli.render.compare, {softmax}.render_explain"  # Rich only once a table is drawn
    modules += ", ce_cli.families.binary.family, ce_cli.families.softmax.family, ce_cli.accumulators, ce_cli.pool"
    code = f"import sys, {modules}; print(sorted(m for m in ('typer', 'rich') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("formula", EXACT)
def test_worked_example_matches_mpmath(formula: str) -> None:
    expected = [mp_loss(row, t) for row, t in zip(WORKED_LOGITS, WORKED_TARGETS, strict=True)]
    losses = cross_entropy(WORKED_LOGITS, WORKED_TARGETS, reduction="none", formula=formula)
    assert_close(losses, expected, rtol=1e-15, atol=0)
    assert_close(cross_entropy(WORKED_LOGITS, WORKED_TARGETS, formula=formula), sum(expected) / 3, rtol=1e-15)
    assert round(cross_entropy(WORKED_LOGITS, WORKED_TARGETS, formula=formula), 4) == 1.1142


def test_worked_example_naive_is_the_textbook_formula_on_raw_inputs() -> None:
    expected = [mp_naive(row, t) for row, t in zip(WORKED_LOGITS, WORKED_TARGETS, strict=True)]
    assert_close(cross_entropy(WORKED_LOGITS, WORKED_TARGETS, reduction="none", formula="naive"), expected, rtol=1e-15)
    mean = cross_entropy(WORKED_LOGITS, WORKED_TARGETS, formula="naive")
    assert round(mean, 4) == 1.2721
    # The often-copied loop adds -log q[target] once per class (3 times per sample): 3 x 1.2721.
    assert round(3 * mean, 4) == 3.8162


def test_reductions() -> None:
    losses = cross_entropy(WORKED_LOGITS, WORKED_TARGETS, reduction="none")
    assert isinstance(losses, np.ndarray)
    assert losses.dtype == np.float64
    assert losses.shape == (3,)
    assert cross_entropy(WORKED_LOGITS, WORKED_TARGETS, reduction="sum") == pytest.approx(float(np.sum(losses)))
    assert isinstance(cross_entropy(WORKED_LOGITS, WORKED_TARGETS), float)


@pytest.mark.parametrize(
    ("logits", "targets", "expected", "source"),
    [
        ([[10, 1, -2], [1, 4, 0.2]], [1, 0], [9.00013, 3.0696733], "optax tests"),
        (
            [[2, -5, 0.5, -0.1], [0, 0, 1.9, 1.4], [-100, 100, -100, -100]],
            [0, 3, 1],
            [0.2975075, 1.1448325, 0.0],
            "TensorFlow sparse_softmax_cross_entropy_with_logits docs",
        ),
        ([[1.2, -0.8, -0.5], [0.9, -1.2, 1.1]], [0, 1], [0.2761, 2.9518], "optax docs"),
    ],
)
@pytest.mark.parametrize("formula", EXACT)
def test_published_values(
    logits: list[list[float]], targets: list[int], expected: list[float], source: str, formula: str
) -> None:
    losses = cross_entropy(logits, targets, reduction="none", formula=formula)
    digits = 1e-4 if source == "optax docs" else 1e-6
    np.testing.assert_allclose(losses, expected, atol=digits, err_msg=source)


def test_published_keras_probabilities_are_the_naive_formula() -> None:
    q = [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]]
    losses = cross_entropy(q, [1, 2], reduction="none", formula="naive")
    np.testing.assert_allclose(losses, [0.0513, 2.3026], atol=1e-4)
    assert cross_entropy(q, [1, 2], formula="naive") == pytest.approx(1.1769, abs=1e-4)


def test_published_pytorch_issue_25571_weights() -> None:
    x = [[0.2, 0.3, 0.5], [0.5, 0.2, 0.3]]
    w = [2.0, 4.0, 6.0]
    np.testing.assert_allclose(cross_entropy(x, [2, 1], weight=w, reduction="none"), [5.6390, 4.9593], atol=1e-4)
    assert cross_entropy(x, [2, 1], weight=w, reduction="sum") == pytest.approx(10.5983, abs=1e-4)
    assert cross_entropy(x, [2, 1], weight=w) == pytest.approx(1.0598, abs=1e-4)


@pytest.mark.parametrize("scale", [1e-12, 1.0, 30.0, 700.0, 1e4, 1e300])
@pytest.mark.parametrize("formula", EXACT)
def test_extreme_magnitudes_match_mpmath(scale: float, formula: str) -> None:
    rng = np.random.default_rng(7)
    logits = rng.standard_normal((6, 5)) * scale
    targets = rng.integers(0, 5, size=6)
    expected = [mp_loss(row, int(t), dps=400) for row, t in zip(logits, targets, strict=True)]
    assert_close(cross_entropy(logits, targets, reduction="none", formula=formula), expected, rtol=1e-13, atol=1e-300)


def test_float32_input_is_computed_in_float64() -> None:
    logits = np.array([[88.0, 80.0, -90.0], [1e-7, 2e-7, 3e-7]], dtype=np.float32)
    expected = [mp_loss(row, t) for row, t in zip(logits.tolist(), [1, 2], strict=True)]
    losses = cross_entropy(logits, [1, 2], reduction="none")
    assert losses.dtype == np.float64
    assert_close(losses, expected, rtol=1e-15, atol=0)


def test_logsumexp_special_values() -> None:
    assert logsumexp(np.array([0.0, 0.0])) == pytest.approx(math.log(2), rel=1e-16)
    assert logsumexp(np.array([1e308, 1e308])) == pytest.approx(1e308, rel=1e-15)
    assert logsumexp(np.array([-math.inf, 0.0])) == 0.0
    # As scipy.special.logsumexp and torch.logsumexp: log 0 = -inf, an infinite term wins.
    assert logsumexp(np.array([-math.inf, -math.inf])) == -math.inf
    assert logsumexp(np.array([math.inf, 0.0])) == math.inf
    assert math.isnan(logsumexp(np.array([math.nan, 0.0])))
    assert logsumexp(np.array([[0.0, 0.0, 0.0]]), axis=1).shape == (1,)
    with mpmath.workdps(50):
        expected = float(mpmath.log(mpmath.exp(-1000) + mpmath.exp(-1001)))
    assert logsumexp(np.array([-1000.0, -1001.0])) == pytest.approx(expected, rel=1e-15)


def test_log_softmax_never_underflows_to_minus_infinity() -> None:
    out = log_softmax(np.array([0.0, -800.0]))
    assert out[1] == pytest.approx(-800.0, rel=1e-15)  # log(softmax) would give -inf


def test_api_errors_are_the_projects_own() -> None:
    with pytest.raises(TargetError, match="out of range"):
        cross_entropy(WORKED_LOGITS, [0, 1, 3])
    with pytest.raises(ShapeError, match="shape"):
        cross_entropy(WORKED_LOGITS, [0, 1])
    with pytest.raises(OptionError, match="formula"):
        cross_entropy(WORKED_LOGITS, WORKED_TARGETS, formula="textbook")
    with pytest.raises(OptionError, match="reduction"):
        cross_entropy(WORKED_LOGITS, WORKED_TARGETS, reduction="avg")
    with pytest.raises(TargetError, match="whole"):
        cross_entropy(WORKED_LOGITS, [0.0, 1.5, 2.0])


def test_whole_number_float_targets_are_indices() -> None:
    assert cross_entropy(WORKED_LOGITS, [0.0, 1.0, 2.0]) == cross_entropy(WORKED_LOGITS, WORKED_TARGETS)


INF, NAN = math.inf, math.nan


@pytest.mark.parametrize("formula", EXACT)
@pytest.mark.parametrize(
    ("logits", "targets", "options", "expected"),
    [
        # Non-finite logits are data: each expectation below is what torch 2.13's
        # F.cross_entropy returns (reduction="none", float64) for the same input.
        ([[INF, 0.0, 1.0]], [1], {}, [NAN]),
        ([[INF, 0.0, 1.0]], [0], {}, [NAN]),
        ([[-INF, -INF]], [0], {}, [NAN]),
        ([[-INF, 0.0, 1.0]], [0], {}, [INF]),
        ([[-INF, 0.0, 1.0]], [1], {"label_smoothing": 0.1}, [INF]),
        ([[NAN, 0.0, 1.0]], [1], {}, [NAN]),
        ([[NAN, 0.0, 1.0], [0.0, 1.0, 2.0]], [-100, 1], {"label_smoothing": 0.2}, [0.0, 1.4076059644443804]),
        ([[-INF, 0.0, 1.0]], [[0.0, 0.5, 0.5]], {}, [NAN]),
    ],
)
def test_non_finite_logits_follow_pytorch(
    logits: list[list[float]], targets: list[Any], options: dict[str, Any], expected: list[float], formula: str
) -> None:
    losses = cross_entropy(logits, targets, reduction="none", formula=formula, **options)
    assert_close(losses, expected, rtol=1e-15)


def test_a_confident_correct_prediction_keeps_its_tiny_loss() -> None:
    # log1p keeps exp(-210) + exp(-300); log(1 + s) would round it to 0 (PyTorch prints -0.0).
    expected = mp_loss([0.0, -210.0, -300.0], 0, dps=200)
    assert expected > 0
    for formula in EXACT:
        assert_close(
            cross_entropy([[0.0, -210.0, -300.0]], [0], reduction="none", formula=formula), [expected], rtol=1e-15
        )


def test_empty_batch_and_zero_weights_give_nan_mean_as_pytorch() -> None:
    assert math.isnan(cross_entropy(np.zeros((0, 3)), np.zeros(0, dtype=int)))
    assert cross_entropy(np.zeros((0, 3)), np.zeros(0, dtype=int), reduction="sum") == 0.0
    assert math.isnan(cross_entropy(np.zeros((2, 3)), [0, 1], weight=[0.0, 0.0, 1.0]))
