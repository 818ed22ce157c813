"""Binary and multi-label cross-entropy (the API), against PyTorch's 46 reference cases and mpmath."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np
import pytest

from ce_cli import (
    InputError,
    OptionError,
    ShapeError,
    TargetError,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
)
from tests.conftest import DATA, LOGIT_FORMULAS, assert_close, spelled


@dataclass(frozen=True)
class BceCase:
    name: str
    function: str
    input: np.ndarray
    target: np.ndarray
    weight: Any
    pos_weight: Any
    losses: np.ndarray
    mean: float
    sum: float


def _cases() -> list[BceCase]:
    raw = json.loads((DATA / "torch_bce_cases.json").read_text())
    return [
        BceCase(
            c["name"],
            c["function"],
            np.array(spelled(c["input"]), dtype=c["dtype"]),
            np.array(spelled(c["target"]), dtype=np.float64),
            c["weight"],
            c["pos_weight"],
            np.array(spelled(c["expected"]["losses"]), dtype=np.float64),
            spelled(c["expected"]["mean"]),
            spelled(c["expected"]["sum"]),
        )
        for c in raw["cases"]
    ]


CASES = _cases()
LOGITS = [case for case in CASES if case.function == "binary_cross_entropy_with_logits"]
PROBABILITIES = [case for case in CASES if case.function == "binary_cross_entropy"]


def test_reference_copy_is_intact() -> None:
    digest = hashlib.sha256((DATA / "torch_bce_cases.json").read_bytes()).hexdigest()
    assert digest.startswith("a10a7d4d5fc41c63d0aa")
    assert (len(LOGITS), len(PROBABILITIES)) == (32, 14)


@pytest.mark.parametrize("formula", LOGIT_FORMULAS)
@pytest.mark.parametrize("case", LOGITS, ids=[case.name for case in LOGITS])
def test_logits_match_pytorch(case: BceCase, formula: str) -> None:
    options: dict[str, Any] = {"weight": case.weight, "pos_weight": case.pos_weight, "formula": formula}
    assert_close(binary_cross_entropy_with_logits(case.input, case.target, reduction="none", **options), case.losses)
    assert_close(binary_cross_entropy_with_logits(case.input, case.target, **options), case.mean)
    assert_close(binary_cross_entropy_with_logits(case.input, case.target, reduction="sum", **options), case.sum)


@pytest.mark.parametrize("case", PROBABILITIES, ids=[case.name for case in PROBABILITIES])
def test_probabilities_match_pytorch(case: BceCase) -> None:
    assert_close(binary_cross_entropy(case.input, case.target, weight=case.weight, reduction="none"), case.losses)
    assert_close(binary_cross_entropy(case.input, case.target, weight=case.weight), case.mean)
    assert_close(binary_cross_entropy(case.input, case.target, weight=case.weight, reduction="sum"), case.sum)
    naive = binary_cross_entropy_with_logits(case.input, case.target, weight=case.weight, formula="naive")
    assert_close(naive, case.mean)


def _mp_bce(x: float, t: float, pos_weight: float = 1.0) -> float:
    """``-(pw * t * log sigmoid(x) + (1 - t) * log(1 - sigmoid(x)))`` at 80 digits."""
    with mpmath.workdps(80):
        xm = mpmath.mpf(x)
        log_sigmoid = -mpmath.log1p(mpmath.exp(-xm))
        log_one_minus = -mpmath.log1p(mpmath.exp(xm))
        return float(-(pos_weight * t * log_sigmoid + (1 - t) * log_one_minus))


@pytest.mark.parametrize("formula", LOGIT_FORMULAS)
def test_confident_correct_logits_keep_their_tiny_losses(formula: str) -> None:
    x = np.array([-40.0, 40.0, -700.0, 1000.0, -1000.0, 30.0])
    t = np.array([0.0, 1.0, 0.0, 1.0, 1.0, 0.25])
    expected = [_mp_bce(float(a), float(b)) for a, b in zip(x, t, strict=True)]
    assert expected[0] == pytest.approx(4.248354255291589e-18, rel=1e-15)  # PyTorch prints 0.0 here
    losses = binary_cross_entropy_with_logits(x, t, reduction="none", formula=formula)
    assert_close(losses, expected, rtol=1e-14, atol=0)


def test_pos_weight_scales_the_positive_term_as_pytorch() -> None:
    x, t = np.array([[0.3, -1.2]]), np.array([[1.0, 0.4]])
    expected = [_mp_bce(0.3, 1.0, 3.0), _mp_bce(-1.2, 0.4, 0.5)]
    assert_close(
        binary_cross_entropy_with_logits(x, t, pos_weight=[3.0, 0.5], reduction="none")[0], expected, rtol=1e-14
    )


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: binary_cross_entropy([0.5, 1.2], [1.0, 0.0]), InputError, "1.2 is not one"),
        (lambda: binary_cross_entropy([0.5, 0.2], [1.0, 2.0]), TargetError, "2.0 is not one"),
        (lambda: binary_cross_entropy_with_logits([0.5, 0.2], [1.0]), ShapeError, "needs the input's shape (2,)"),
        (
            lambda: binary_cross_entropy_with_logits(np.zeros((4, 3)), np.zeros((4, 3)), weight=[1.0, 2.0]),
            ShapeError,
            "weight has shape (2,), which does not broadcast to the input's shape (4, 3)",
        ),
        (
            lambda: binary_cross_entropy_with_logits([0.5], [1.0], pos_weight=[2.0], formula="naive"),
            OptionError,
            "pos_weight weighs the positives of logits",
        ),
        (lambda: binary_cross_entropy_with_logits([0.5], [1.0], eps="auto"), OptionError, "eps clips probabilities"),
    ],
)
def test_binary_errors_are_the_projects_own(call: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_eps_clips_zero_and_one_probabilities() -> None:
    eps = float(np.finfo(np.float64).eps)
    value = binary_cross_entropy([0.0, 1.0], [1.0, 0.0], eps="auto")
    assert_close(value, -math.log(eps), rtol=1e-15)
    assert binary_cross_entropy([0.0, 1.0], [1.0, 0.0]) == 100.0  # PyTorch's clamp of each log at -100
