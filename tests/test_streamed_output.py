"""Per-sample outputs written a block at a time: byte for byte what writing them whole gives, in bounded memory."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ce_cli.render import numbers
from ce_cli.render.delimited import write_delimited
from ce_cli.render.numbers import json_values, write_json_line


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of 7 values, so that a few dozen values cross many block edges."""
    monkeypatch.setattr(numbers, "STREAM_BLOCK", 7)
    import ce_cli.render.delimited as delimited

    monkeypatch.setattr(delimited, "STREAM_BLOCK", 7)


@pytest.mark.parametrize(
    "array",
    [
        np.array([0.5, np.nan, -np.inf, np.inf, 1e-300, 3.0] * 9),
        np.arange(60.0).reshape(12, 5) / 7,
        np.array(2.5),
        np.zeros(0),
        np.array([[np.nan, 1.0], [2.0, np.inf]] * 10),
    ],
    ids=["1-D with non-finite", "2-D", "0-d", "empty", "2-D with non-finite"],
)
def test_a_streamed_json_array_is_the_json_of_the_whole(small_blocks: None, array: np.ndarray) -> None:
    value = {"formula": "cross_entropy", "losses": None, "mean": 1.5, "ids": ["a", "b"]}
    whole = json.dumps({**value, "losses": json_values(array)}, allow_nan=False) + "\n"
    stream = io.StringIO()
    write_json_line(value, stream, {"losses": array})
    assert stream.getvalue() == whole


def test_streamed_rows_are_what_the_csv_module_writes(small_blocks: None) -> None:
    names = ["plain", "a,b", 'say "x"', "two\nlines", "tab\there"] * 5
    values = [repr(v) for v in np.linspace(0, 1, len(names)).tolist()]
    for delimiter in (",", "\t"):
        expected = io.StringIO()
        writer = csv.writer(expected, delimiter=delimiter, lineterminator="\n")
        writer.writerow(["id", "loss"])
        writer.writerows(zip(names, values, strict=True))
        ours = io.StringIO()
        write_delimited(ours, delimiter, ["id", "loss"], len(names), lambda a, b: [names[a:b], values[a:b]])
        assert ours.getvalue() == expected.getvalue()


MEASURE = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss // 1024)
"""


@pytest.mark.parametrize("output", [["-f", "json"], ["-f", "csv"], ["-q", "-o", "{dir}/losses.csv"]])
def test_eight_million_losses_are_written_in_under_500_mib(tmp_path: Path, output: list[str]) -> None:
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.standard_normal((8_000_000, 2), dtype=np.float32))
    np.save(tmp_path / "t.npy", rng.integers(0, 2, 8_000_000))
    args = [a.format(dir=tmp_path) for a in output]
    command = [sys.executable, "-m", "ce_cli", "compute", "-l", str(tmp_path / "x.npy"), "-t", str(tmp_path / "t.npy")]
    result = subprocess.run([sys.executable, "-c", MEASURE, *command, *args], capture_output=True, text=True)
    status, peak_mib = map(int, result.stdout.split())
    assert status == 0, result.stderr
    assert peak_mib < 500, f"{peak_mib} MiB"


def test_streamed_names_are_the_json_of_the_whole_list(small_blocks: None) -> None:
    from ce_cli.render.numbers import JsonItems

    names = [f"s{i}" for i in range(30)] + ['quote "q"', "ünïcode", "back\\slash"]
    value = {"ids": None, "losses": None, "n": 33}
    losses = np.linspace(0.0, 1.0, 33)
    stream = io.StringIO()
    write_json_line(value, stream, {"losses": losses, "ids": JsonItems(len(names), lambda a, b: names[a:b])})
    assert stream.getvalue() == json.dumps({"ids": names, "losses": losses.tolist(), "n": 33}) + "\n"
