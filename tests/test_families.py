"""A loss family is one package behind one protocol: a toy family, defined here and registered, runs through
every command and output format with no edit to the command line; options it does not take are refused."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, TextIO

import numpy as np
import pytest

from ce_cli.accumulators import ExactSum, LossStats
from ce_cli.errors import OptionError
from ce_cli.families import REGISTRY, register
from ce_cli.families.protocol import Family
from ce_cli.paired import PairedSamples
from ce_cli.render import RenderOptions, Writer, losses_file_encoders
from tests.conftest import Run


@dataclass(frozen=True)
class ToyResult:
    """The toy family's result: the zero-one loss per sample (1 where the argmax misses the target)."""

    losses: np.ndarray
    warnings: Sequence[Any] = ()


def _json(result: ToyResult, stream: TextIO, options: RenderOptions) -> None:
    out = {"losses": result.losses.tolist(), "mean": float(result.losses.mean())}
    stream.write(json.dumps(out | options.json_keys(result.losses.size)) + "\n")


def _delimited(delimiter: str) -> Writer[Any]:
    def write(result: ToyResult, stream: TextIO, options: RenderOptions) -> None:
        stream.write(f"{options.index_header}{delimiter}loss\n")
        for i, value in enumerate(result.losses.tolist()):
            stream.write(f"{options.index_text((i,))}{delimiter}{value}\n")

    return write


def _table(result: ToyResult, stream: TextIO, options: RenderOptions) -> None:
    stream.write(f"zero-one loss: mean {result.losses.mean()}\n")


WRITERS: Mapping[str, Writer[Any]] = {
    "table": _table,
    "json": _json,
    "csv": _delimited(","),
    "tsv": _delimited("\t"),
}


class ToyFamily:
    """The zero-one loss: a family of its own, with no option beyond the sources."""

    name = "toy"
    takes: frozenset[str] = frozenset()
    elementwise = False
    targets_optional = False
    compute_writers = WRITERS
    compare_writers = WRITERS
    explain_writers: Mapping[str, Writer[Any]] = MappingProxyType({"table": _table, "json": _json})
    losses_file_encoders = losses_file_encoders(lambda result: result.losses, WRITERS["csv"], WRITERS["tsv"])

    def validate(self, read: Any, spec: Any) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(read.logits, dtype=np.float64), np.asarray(read.targets).astype(int)

    def size(self, inputs: tuple[np.ndarray, np.ndarray]) -> int:
        return len(inputs[1])

    def sample_shape(self, inputs: tuple[np.ndarray, np.ndarray]) -> tuple[int, ...]:
        return (len(inputs[1]),)

    def _losses(self, inputs: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        logits, targets = inputs
        misses: np.ndarray = (np.argmax(logits, axis=1) != targets).astype(np.float64)
        return misses

    def compute(
        self,
        inputs: Any,
        formula: Any,
        reduction: Any,
        *,
        eps: Any,
        request: Any,
        progress: Callable[[int], None] | None,
    ) -> ToyResult:
        return ToyResult(self._losses(inputs))

    def write_quiet(self, result: ToyResult, stream: TextIO) -> None:
        stream.write(f"{result.losses.mean()}\n")

    def compare(self, inputs: Any, *, eps: Any, progress: Callable[[int], None] | None) -> ToyResult:
        return ToyResult(self._losses(inputs))

    def explain(self, inputs: Any, flat: int) -> tuple[ToyResult, Sequence[Any]]:
        return ToyResult(self._losses(inputs)[flat : flat + 1]), ()

    def accumulate(self, result: ToyResult) -> LossStats:
        n = result.losses.size
        total = ExactSum().update(result.losses)
        return LossStats({"family": "toy"}, n, 0, n, n - int(result.losses.sum()), total, ExactSum().update(np.ones(n)))

    def pooled_json(self, stats: LossStats) -> dict[str, Any]:
        return {"task": "toy", "mean": stats.mean, "n_samples": stats.samples}

    def paired(self, result: ToyResult) -> PairedSamples:
        n = result.losses.size
        right = result.losses == 0.0
        return PairedSamples(
            result.losses, np.ones(n), np.ones(n, bool), right, right.astype(np.int64), np.zeros(n, np.int64),
            np.zeros(n), float(result.losses.mean()), (n,), (n,),
        )  # fmt: skip

    def divergence(self, new: Any, baseline: Any, progress: Callable[[int], None] | None, results: Any = None) -> None:
        return None

    def compute_pair(self, new: Any, baseline: Any, formula: Any, reduction: Any, **options: Any) -> Any:
        return self.compute(new, formula, reduction, **options), self.compute(baseline, formula, reduction, **options)

    def confidences(self, inputs: Any, formula: Any, temperature: float = 1.0) -> Any:
        raise OptionError("the toy family has no calibration")

    def temperature_blocks(self, inputs: Any, formula: Any) -> Any:
        raise OptionError("the toy family has no temperature")


@pytest.fixture
def toy() -> Iterator[Family]:
    family: Family = ToyFamily()
    register(family)
    yield family
    del REGISTRY["toy"]


LOGITS = "[[3, 1, 0], [0, 2, 1], [1, 0, 4], [2, 5, 1]]"
TARGETS = "0,1,0,0"  # argmax 0, 1, 2, 1: the last two miss


@pytest.mark.usefixtures("toy")
@pytest.mark.parametrize("fmt", ["table", "json", "csv", "tsv"])
def test_a_toy_family_runs_compute_and_compare_in_every_format(fmt: str, run: Run) -> None:
    for command in ("compute", "compare"):
        result = run(command, "--task", "toy", "-l", LOGITS, "-t", TARGETS, "-f", fmt)
        assert (result.exit_code, result.stderr) == (0, ""), result.stderr
        if fmt == "json":
            out = json.loads(result.stdout)
            assert (out["losses"], out["mean"]) == ([0.0, 0.0, 1.0, 1.0], 0.5)
            assert ("state" in out) == (command == "compute")  # what pool merges
            continue
        expected = {
            "table": "zero-one loss: mean 0.5\n",
            "json": '{"losses": [0.0, 0.0, 1.0, 1.0], "mean": 0.5}\n',
            "csv": "index,loss\n0,0.0\n1,0.0\n2,1.0\n3,1.0\n",
            "tsv": "index\tloss\n0\t0.0\n1\t0.0\n2\t1.0\n3\t1.0\n",
        }[fmt]
        assert result.stdout == expected


@pytest.mark.usefixtures("toy")
def test_a_toy_family_runs_explain_quiet_and_output_files(run: Run, tmp_path: Path) -> None:
    args = ["--task", "toy", "-l", LOGITS, "-t", TARGETS]
    assert run("compute", *args, "-q").stdout == "0.5\n"
    assert json.loads(run("explain", *args, "-s", "2", "-f", "json").stdout)["losses"] == [1.0]
    assert run("compute", *args, "-o", str(tmp_path / "out.npy"), "-q").exit_code == 0
    assert np.load(tmp_path / "out.npy").tolist() == [0.0, 0.0, 1.0, 1.0]


@pytest.mark.usefixtures("toy")
def test_options_a_family_does_not_take_are_refused_from_what_it_declares(run: Run) -> None:
    for option in (["--weight", "1,1,1"], ["--by-class"], ["--ignore-index", "3"]):
        result = run("compute", "--task", "toy", "-l", LOGITS, "-t", TARGETS, *option)
        assert (result.exit_code, result.stdout) == (2, "")
        assert result.stderr == f"ce-loss: error: {option[0]} is not an option of --task toy\n"


def test_an_unregistered_task_is_a_usage_error_naming_the_registered_ones(run: Run) -> None:
    result = run("compute", "--task", "toy", "-l", LOGITS, "-t", TARGETS)
    assert result.exit_code == 2
    assert "'toy' is not one of 'multiclass', 'binary', 'distill'" in result.stderr


@pytest.mark.usefixtures("toy")
def test_a_toy_family_reaches_pool(run: Run, tmp_path: Path) -> None:
    halves = [("[[3, 1, 0], [0, 2, 1]]", "0,1"), ("[[1, 0, 4], [2, 5, 1]]", "0,0")]
    paths = []
    for i, (logits, targets) in enumerate(halves):
        result = run("compute", "--task", "toy", "-l", logits, "-t", targets, "-f", "json")
        paths.append(tmp_path / f"r{i}.json")
        paths[-1].write_text(result.stdout)
    pooled = run("pool", *map(str, paths), "-f", "json")
    assert (pooled.exit_code, pooled.stderr) == (0, "")
    out = json.loads(pooled.stdout)
    assert (out["task"], out["mean"], out["n_samples"], out["pooled"]) == ("toy", 0.5, 4, 2)


@pytest.mark.usefixtures("toy")
def test_a_toy_family_reaches_diff(run: Run) -> None:
    better = "[[3, 1, 0], [0, 2, 1], [4, 0, 1], [2, 5, 1]]"  # the third sample turns right
    result = run("diff", "--task", "toy", "-l", better, "--baseline", LOGITS, "-t", TARGETS, "-f", "json")
    assert (result.exit_code, result.stderr) == (0, ""), result.stderr
    out = json.loads(result.stdout)
    assert (out["delta"], out["wins"], out["ties"], out["kl"]) == (-0.25, 1, 3, None)


def test_every_package_is_installed() -> None:
    import tomllib

    root = Path(__file__).parent.parent
    declared = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(root).parts) for p in (root / "ce_cli").rglob("__init__.py")}
    assert found == declared
