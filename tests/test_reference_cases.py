"""Every PyTorch reference case, through the Python API and through the CLI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ce_cli import cross_entropy
from tests.conftest import CASES, DATA, LOGIT_FORMULAS, Case, Run, assert_close, spelled

EXACT = LOGIT_FORMULAS
IDS = [case.name for case in CASES]


def test_reference_copy_is_intact() -> None:
    digest = hashlib.sha256((DATA / "torch_cases.json").read_bytes()).hexdigest()
    assert digest == "0034549144f39d5f99a92d65e65771e8d3c060b07a978e6293187d6ee2720628"
    assert len(CASES) == 77
    assert sum(case.plain for case in CASES) >= 20


def _options(case: Case) -> dict[str, Any]:
    return {
        "weight": case.weight,
        "ignore_index": case.ignore_index,
        "label_smoothing": case.label_smoothing,
        "class_axis": case.class_axis,
    }


@pytest.mark.parametrize("formula", EXACT)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_api_matches_pytorch(case: Case, formula: str) -> None:
    options = _options(case)
    assert_close(cross_entropy(case.logits, case.targets, reduction="none", formula=formula, **options), case.losses)
    assert_close(cross_entropy(case.logits, case.targets, reduction="mean", formula=formula, **options), case.mean)
    assert_close(cross_entropy(case.logits, case.targets, reduction="sum", formula=formula, **options), case.sum)


def _cli_args(case: Case, folder: Path) -> list[str]:
    np.save(folder / "logits.npy", case.logits)
    np.save(folder / "targets.npy", case.targets)
    args = ["compute", "--logits", str(folder / "logits.npy"), "--targets", str(folder / "targets.npy")]
    if case.weight is not None:
        np.save(folder / "weight.npy", np.array(case.weight))
        args += ["--weight", str(folder / "weight.npy")]
    args += ["--ignore-index", str(case.ignore_index), "--label-smoothing", repr(case.label_smoothing)]
    args += ["--class-axis", str(case.class_axis), "--format", "json"]
    return args


@pytest.mark.parametrize("formula", EXACT)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_cli_matches_pytorch(case: Case, formula: str, tmp_path: Path, run: Run) -> None:
    result = run(*_cli_args(case, tmp_path), "--formula", formula)
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["formula"] == formula
    assert out["shape"] == list(case.logits.shape)
    assert np.shape(out["losses"]) == case.losses.shape
    assert_close(spelled(out["losses"]), case.losses)
    assert_close(spelled(out["mean"]), case.mean)
    assert_close(spelled(out["sum"]), case.sum)
    if np.isnan(case.mean):
        assert out["mean"] == "NaN"
        assert result.stderr.startswith("ce-loss: warning: every target is the ignore index")
    elif case.name == "seed_blog_example":  # rows in [0, 1] summing to 1: probabilities given as logits?
        assert result.stderr.startswith("ce-loss: warning: the logits look like probabilities")
    else:
        assert result.stderr == ""
