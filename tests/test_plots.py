"""``--plot``: the files are opened and checked (PNG decoded, SVG bars counted, PDF header), the same input
draws the same bytes, and a missing matplotlib or an unknown suffix is refused in one line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import Run

pytest.importorskip("matplotlib")


@pytest.fixture
def model(tmp_path: Path) -> list[str]:
    rng = np.random.default_rng(11)
    logits = rng.standard_normal((400, 4)) * 3
    targets = np.where(rng.random(400) < 0.6, logits.argmax(1), rng.integers(0, 4, 400))
    np.save(tmp_path / "x.npy", logits)
    np.save(tmp_path / "t.npy", targets)
    return ["-l", str(tmp_path / "x.npy"), "-t", str(tmp_path / "t.npy")]


def _drawn(run: Run, *args: str) -> str:
    result = run(*args)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def _png_is_a_picture(path: Path) -> None:
    from matplotlib import image

    pixels = image.imread(str(path))
    assert pixels.shape[:2] == (480, 640)  # 6.4 x 4.8 inches at 100 dpi
    grey = pixels[..., :3].mean(axis=2)
    assert np.mean(grey < 0.95) > 0.03  # drawn on, not blank
    assert len(np.unique(np.round(grey, 2))) >= 3  # black lines, grey bars, white ground


def test_the_reliability_diagram_as_png_svg_and_pdf(run: Run, model: list[str], tmp_path: Path) -> None:
    out = json.loads(_drawn(run, "compute", *model, "--calibration", "--plot", str(tmp_path / "r.svg"), "-f", "json"))
    svg = (tmp_path / "r.svg").read_text()
    assert svg.count('id="bin-') == len(out["calibration"]["bins"])  # one bar per non-empty bin
    assert "ECE" in svg
    assert "accuracy (fraction right)" in svg
    assert "<dc:date>" not in svg
    _drawn(run, "compute", *model, "--calibration", "--plot", str(tmp_path / "r.png"))
    _png_is_a_picture(tmp_path / "r.png")
    _drawn(run, "compute", *model, "--calibration", "--plot", str(tmp_path / "r.pdf"))
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("suffix", [".svg", ".pdf", ".png"])
def test_the_same_input_draws_the_same_file(run: Run, model: list[str], tmp_path: Path, suffix: str) -> None:
    first, second = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    _drawn(run, "compute", *model, "--calibration", "--plot", str(first))
    _drawn(run, "compute", *model, "--calibration", "--plot", str(second))
    assert first.read_bytes() == second.read_bytes()


def test_the_loss_histogram_and_the_loss_per_class(run: Run, model: list[str], tmp_path: Path) -> None:
    _drawn(run, "compute", *model, "--plot", str(tmp_path / "h.svg"))
    histogram = (tmp_path / "h.svg").read_text()
    assert "loss per sample (nats)" in histogram
    assert "mean " in histogram
    assert "p99 " in histogram
    _drawn(run, "compute", *model, "--by-class", "--plot", str(tmp_path / "c.svg"))
    classes = (tmp_path / "c.svg").read_text()
    assert "share of the summed loss (%)" in classes
    assert classes.count("(n=") == 4  # one labelled bar per class


def test_diff_draws_the_differences(run: Run, tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    base = rng.standard_normal((300, 5))
    np.save(tmp_path / "old.npy", base)
    np.save(tmp_path / "new.npy", base + 0.3 * rng.standard_normal(base.shape))
    np.save(tmp_path / "t.npy", rng.integers(0, 5, 300))
    args = ["diff", "-l", str(tmp_path / "new.npy"), "--baseline", str(tmp_path / "old.npy")]
    args += ["-t", str(tmp_path / "t.npy")]
    _drawn(run, *args, "--plot", str(tmp_path / "d.png"))
    _png_is_a_picture(tmp_path / "d.png")
    _drawn(run, *args, "--plot", str(tmp_path / "d.svg"), "-f", "json")
    svg = (tmp_path / "d.svg").read_text()
    assert "delta " in svg
    assert "95% CI" in svg
    assert "0 (no difference)" in svg


def test_an_unknown_suffix_or_a_missing_matplotlib_is_refused(
    run: Run, model: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = run("compute", *model, "--plot", str(tmp_path / "r.jpg"))
    assert wrong.exit_code == 2
    assert wrong.stdout == ""
    assert "--plot draws .png, .svg, .pdf files" in wrong.stderr
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails, as where it is not installed
    missing = run("compute", *model, "--calibration", "--plot", str(tmp_path / "r.png"))
    assert missing.exit_code == 2
    assert missing.stdout == ""
    assert missing.stderr.strip() == "ce-loss: error: --plot needs matplotlib: pip install 'ce-loss[plot]'"
    assert not (tmp_path / "r.png").exists()


def test_the_committed_reliability_diagram_is_a_picture() -> None:
    _png_is_a_picture(Path(__file__).parent.parent / "examples" / "reliability.png")


def test_a_picture_that_cannot_be_written_is_one_line(run: Run, model: list[str], tmp_path: Path) -> None:
    result = run("compute", *model, "--plot", str(tmp_path / "no-such-folder" / "h.png"), "-q")
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("ce-loss: error: the picture ")
    assert "cannot be written" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
