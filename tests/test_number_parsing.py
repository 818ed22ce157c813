"""The compiled parser's numbers are numpy.loadtxt's, bit for bit (Clinger's fast path, else strtod)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import ce_cli.native as native

pytestmark = pytest.mark.skipif(not native.runnable_variants(), reason="no compiled kernel in this install")


def parsed(cells: list[str]) -> np.ndarray | None:
    """The cells as one CSV row through the kernel's parser; ``None`` where it hands the row to numpy's
    (a cell of 80 characters or more: numpy's parser reads those chunks)."""
    module = native.select("native").module
    assert module is not None
    out = np.empty((1, len(cells)))
    keep = bytes([1] * len(cells))
    rows = module.parse_lines((",".join(cells) + "\n").encode(), ord(","), keep, out)
    if rows == -1 and max(map(len, cells)) >= 80:
        return None
    assert rows == 1, f"the kernel refused {cells}"
    row: np.ndarray = out[0]
    return row


def loadtxt(cells: list[str]) -> np.ndarray:
    row: np.ndarray = np.loadtxt(io.StringIO(",".join(cells)), delimiter=",", ndmin=2)[0]
    return row


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.tobytes() == b.tobytes()


SPELLINGS = st.sampled_from(["{:.17g}", "{:.9g}", "{:.6f}", "{:.3e}", "{!r}", "{:.20f}", "{:.1f}", "{:.0e}"])
VALUES = (
    st.floats(allow_nan=False, allow_infinity=False, width=64) | st.floats(-10, 10) | st.integers(-(10**20), 10**20)
)


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.tuples(VALUES, SPELLINGS), min_size=1, max_size=8))
@example([(0.1, "{!r}"), (-0.0, "{!r}"), (9007199254740993, "{}"), (1e22, "{:.0e}"), (1e23, "{:.0e}")])
def test_every_spelling_parses_to_loadtxts_bits(cells: list[tuple[float | int, str]]) -> None:
    text = [spelling.format(value) for value, spelling in cells]
    ours = parsed(text)
    assert ours is None or same_bits(ours, loadtxt(text)), text


@pytest.mark.parametrize(
    "cell",
    [
        "0",
        "-0",
        "+1.5",
        ".5",
        "5.",
        "-.5e-3",
        "1e-22",
        "1e22",
        "1e23",
        "123456789012345678e-5",
        "1234567890123456789",
        "12345678901234567890",
        "9007199254740992",
        "9007199254740993e-3",
        "0.000000000000000000000000001",
        "4.9406564584124654e-324",
        "1.7976931348623157e308",
        "inf",
        "-inf",
        "nan",
        "1E5",
        "1e+05",
        "00012.5000",
        "0e999",
    ],
)
def test_edge_cells_parse_to_loadtxts_bits(cell: str) -> None:
    ours = parsed([cell])
    assert ours is not None
    assert same_bits(ours, loadtxt([cell])), cell
