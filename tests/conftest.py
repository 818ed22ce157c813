"""Shared helpers: the PyTorch reference cases, mpmath oracles and a CLI runner."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import mpmath
import numpy as np
import pytest
from typer.testing import CliRunner, Result

from ce_cli.cli import app
from ce_cli.formulas import REGISTRY

with contextlib.suppress(ImportError):  # Typer reads TERMINAL_WIDTH once, when its help module is first imported:
    import typer.rich_utils  # noqa: F401  # import it before any test sets it

DATA = Path(__file__).parent / "data"
EXAMPLES = Path(__file__).parent.parent / "examples"
WORKED_ROW = [0.1234, 0.5555, 0.3211]
WORKED_LOGITS = [WORKED_ROW] * 3
WORKED_TARGETS = [0, 1, 2]
WORKED_INLINE = ";".join([",".join(str(v) for v in WORKED_ROW)] * 3)


def spelled(value: Any) -> Any:
    """Replace the strict-JSON spellings "NaN", "Infinity", "-Infinity" by floats, recursively."""
    if isinstance(value, list):
        return [spelled(v) for v in value]
    if isinstance(value, str):
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[value]
    return value


@dataclass(frozen=True)
class Case:
    """One PyTorch reference case, with arrays decoded."""

    name: str
    logits: np.ndarray
    targets: np.ndarray
    soft: bool
    weight: list[float] | None
    ignore_index: int
    label_smoothing: float
    class_axis: int
    losses: np.ndarray
    mean: float
    sum: float

    @property
    def plain(self) -> bool:
        """No weight, no ignored target, no smoothing, index targets, class axis 1."""
        return (
            self.weight is None
            and not self.soft
            and self.label_smoothing == 0.0
            and self.class_axis == 1
            and not np.any(self.targets == self.ignore_index)
        )


def load_cases() -> list[Case]:
    raw = json.loads((DATA / "torch_cases.json").read_text())
    cases = []
    for c in raw["cases"]:
        soft = c["target_kind"] == "probabilities"
        cases.append(
            Case(
                name=c["name"],
                logits=np.array(spelled(c["logits"]), dtype=c["dtype"]),
                targets=np.array(spelled(c["targets"]), dtype=np.float64 if soft else np.int64),
                soft=soft,
                weight=c["weight"],
                ignore_index=c["ignore_index"],
                label_smoothing=c["label_smoothing"],
                class_axis=c["class_axis"],
                losses=np.array(spelled(c["expected"]["losses"]), dtype=np.float64),
                mean=spelled(c["expected"]["mean"]),
                sum=spelled(c["expected"]["sum"]),
            )
        )
    return cases


CASES = load_cases()


def assert_close(actual: Any, expected: Any, rtol: float = 1e-9, atol: float = 1e-12) -> None:
    """Reference tolerance; NaN and infinities must match exactly."""
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=rtol, atol=atol, equal_nan=True)


def mp_loss(row: Sequence[float], target: int, dps: int = 60) -> float:
    """``logsumexp(row) - row[target]`` in mpmath at ``dps`` digits (the exact binary inputs)."""
    with mpmath.workdps(dps):
        values = [mpmath.mpf(float(v)) for v in row]
        lse = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in values))
        return float(lse - values[target])


def mp_naive(row: Sequence[float], target: int, dps: int = 60) -> float:
    """``-log q[target]`` in mpmath."""
    with mpmath.workdps(dps):
        return float(-mpmath.log(mpmath.mpf(float(row[target]))))


# What each registered formula computes for one sample with an index target, stated independently in mpmath.
ORACLES: dict[str, Callable[[Sequence[float], int], float]] = {
    "cross_entropy": mp_loss,
    "log_softmax_nll": mp_loss,
    "naive": mp_naive,
}
LOGIT_FORMULAS = [name for name, spec in REGISTRY.items() if spec.expects == "logits"]


def case_names(build: Callable[[Path], dict[str, Any]]) -> list[str]:
    """The keys of ``build(folder)``, a dict of named cases built in a folder, for parametrize ids."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        return list(build(Path(folder)))


def warnings_in(stderr: str) -> list[str]:
    """The lines of stderr other than the lines that say what was read from each source (``ce-loss: read ...``)."""
    return [line for line in stderr.splitlines() if not line.startswith("ce-loss: read ")]


class Run(Protocol):
    """The ``run`` fixture: ``run("compute", "--logits", ...)``."""

    def __call__(self, *args: str, input: bytes | str | None = None) -> Result: ...


@pytest.fixture
def run() -> Run:
    """Invoke the CLI in-process; stdout and stderr stay separate."""
    runner = CliRunner()

    def invoke(*args: str, input: bytes | str | None = None) -> Result:
        result = runner.invoke(app, list(args), input=input)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    return invoke
