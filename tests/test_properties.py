"""Invariants of cross-entropy, stated as hypothesis properties."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ce_cli import cross_entropy
from tests.conftest import LOGIT_FORMULAS

settings.register_profile("ce", deadline=None, max_examples=150)
settings.load_profile("ce")

finite = st.floats(-50, 50, allow_nan=False, allow_infinity=False)


@st.composite
def problems(draw: Any, max_classes: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(logits (N, C), targets (N,), weight (C,))`` with N in [1, 12], C in [1, max_classes]."""
    n = draw(st.integers(1, 12))
    c = draw(st.integers(1, max_classes))
    logits = draw(hnp.arrays(np.float64, (n, c), elements=finite))
    targets = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    weight = draw(hnp.arrays(np.float64, (c,), elements=st.floats(0.1, 10)))
    return logits, targets, weight


def close(a: Any, b: Any, atol: float = 1e-12, rtol: float = 1e-12) -> None:
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol)


@given(problems(), st.sampled_from([1e-3, -7.5, 100.0, 1e6]))
def test_adding_a_constant_to_each_row_changes_nothing(problem: Any, shift: float) -> None:
    logits, targets, _ = problem
    shifted = logits + shift
    # Only the rounding of x + shift itself can differ: a few ulps of |shift|.
    tolerance = 8 * np.finfo(np.float64).eps * (abs(shift) + 50)
    for formula in LOGIT_FORMULAS:
        close(
            cross_entropy(shifted, targets, reduction="none", formula=formula),
            cross_entropy(logits, targets, reduction="none", formula=formula),
            atol=tolerance,
        )


@given(problems(), st.floats(0, 1), st.booleans())
def test_the_two_exact_formulas_agree(problem: Any, smoothing: float, weighted: bool) -> None:
    logits, targets, weight = problem
    options: dict[str, Any] = {"label_smoothing": smoothing, "weight": weight if weighted else None}
    fused = cross_entropy(logits, targets, reduction="none", **options)
    two_step = cross_entropy(logits, targets, reduction="none", formula="log_softmax_nll", **options)
    close(fused, two_step, atol=1e-13, rtol=1e-13)


@given(problems(), st.floats(0, 1), st.booleans())
def test_one_hot_probabilities_equal_index_targets(problem: Any, smoothing: float, weighted: bool) -> None:
    logits, targets, weight = problem
    one_hot = np.eye(logits.shape[1])[targets]
    options: dict[str, Any] = {"label_smoothing": smoothing, "weight": weight if weighted else None}
    close(
        cross_entropy(logits, one_hot, reduction="none", **options),
        cross_entropy(logits, targets, reduction="none", **options),
    )
    if not weighted:  # with weights the mean's denominators differ, as in PyTorch
        close(cross_entropy(logits, one_hot, **options), cross_entropy(logits, targets, **options))


@given(problems(), st.floats(0, 1))
def test_all_ones_weight_equals_no_weight(problem: Any, smoothing: float) -> None:
    logits, targets, _ = problem
    ones = np.ones(logits.shape[1])
    for reduction in ("none", "mean", "sum"):
        close(
            cross_entropy(logits, targets, weight=ones, label_smoothing=smoothing, reduction=reduction),
            cross_entropy(logits, targets, label_smoothing=smoothing, reduction=reduction),
        )


@given(problems(), st.floats(0, 1), st.randoms(use_true_random=False))
def test_permuting_classes_with_targets_and_weights_changes_nothing(problem: Any, smoothing: float, rnd: Any) -> None:
    logits, targets, weight = problem
    order = list(range(logits.shape[1]))
    rnd.shuffle(order)
    permutation = np.array(order)
    inverse = np.argsort(permutation)
    for reduction in ("none", "mean"):
        close(
            cross_entropy(
                logits[:, permutation],
                inverse[targets],
                weight=weight[permutation],
                label_smoothing=smoothing,
                reduction=reduction,
            ),
            cross_entropy(logits, targets, weight=weight, label_smoothing=smoothing, reduction=reduction),
        )


@given(problems())
def test_naive_on_softmax_equals_cross_entropy_on_logits(problem: Any) -> None:
    logits, targets, _ = problem
    logits = logits / 5  # keep every probability well above underflow
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities = exp / exp.sum(axis=1, keepdims=True)
    close(
        cross_entropy(probabilities, targets, reduction="none", formula="naive"),
        cross_entropy(logits, targets, reduction="none"),
        atol=1e-12,
        rtol=1e-10,
    )


@given(
    hnp.arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 5), st.integers(1, 4)), elements=finite),
    st.data(),
)
def test_class_axis_last_equals_pytorch_layout(logits: np.ndarray, data: Any) -> None:
    n, t, c = logits.shape  # (batch, time, vocab)
    targets = data.draw(hnp.arrays(np.int64, (n, t), elements=st.integers(0, c - 1)))
    close(
        cross_entropy(logits, targets, class_axis=-1, reduction="none"),
        cross_entropy(np.moveaxis(logits, -1, 1), targets, reduction="none"),
    )


@given(problems(), st.integers(0, 11))
def test_ignored_samples_leave_sum_and_mean(problem: Any, drop: int) -> None:
    logits, targets, weight = problem
    drop %= len(targets)
    ignored = targets.copy()
    ignored[drop] = -100
    keep = np.arange(len(targets)) != drop
    losses = cross_entropy(logits, ignored, weight=weight, reduction="none")
    assert losses[drop] == 0.0
    if keep.any():
        close(
            cross_entropy(logits, ignored, weight=weight),
            cross_entropy(logits[keep], targets[keep], weight=weight),
        )
