"""``kl_div`` and ``distillation_loss`` against PyTorch 2.13 in float64 (tests/data/torch_distill_cases.json)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

import ce_cli
from tests.conftest import DATA, assert_close, spelled

CASES: dict[str, Any] = json.loads((DATA / "torch_distill_cases.json").read_text())


def _array(values: Any) -> np.ndarray:
    return np.array(spelled(values), dtype=np.float64)


def _same(actual: Any, expected: Any) -> None:
    """Close where finite (rtol 1e-9, atol 1e-12); NaN and infinities exactly where PyTorch has them."""
    a, e = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape
    np.testing.assert_array_equal(np.isnan(a), np.isnan(e))
    finite = np.isfinite(e)
    np.testing.assert_array_equal(a[~finite & ~np.isnan(e)], e[~finite & ~np.isnan(e)])
    assert_close(a[finite], e[finite])


def test_there_are_enough_cases() -> None:
    assert len(CASES["kl_div_cases"]) + len(CASES["distill_cases"]) >= 60
    assert CASES["generator"].startswith("torch 2.13")


@pytest.mark.parametrize("case", CASES["kl_div_cases"], ids=lambda c: c["name"])
def test_kl_div_matches_pytorch(case: dict[str, Any]) -> None:
    got = ce_cli.kl_div(
        _array(case["input"]), _array(case["target"]), reduction=case["reduction"], log_target=case["log_target"]
    )
    _same(got, spelled(case["expected"]))


@pytest.mark.parametrize("case", CASES["distill_cases"], ids=lambda c: c["name"])
def test_distillation_loss_matches_pytorch(case: dict[str, Any]) -> None:
    targets = None if case["targets"] is None else np.array(case["targets"])
    common = {
        "temperature": case["temperature"],
        "alpha": case["alpha"],
        "divergence": case["divergence"],
        "teacher_form": case["teacher_form"],
        "class_axis": case["class_axis"],
        "ignore_index": case["ignore_index"],
    }
    student, teacher = _array(case["student"]), _array(case["teacher"])
    expected = case["expected"]
    _same(ce_cli.distillation_loss(student, teacher, targets, reduction="none", **common), spelled(expected["losses"]))
    _same(ce_cli.distillation_loss(student, teacher, targets, **common), spelled(expected["mean"]))
    if expected["batchmean_times_t2"] is not None:  # the classic KD loss is the mean over samples
        _same(ce_cli.distillation_loss(student, teacher, **common), expected["batchmean_times_t2"])
