"""Pictures of a result: .png, .svg or .pdf, drawn by matplotlib (``pip install 'ce-loss[plot]'``).

Each figure is readable in black and white (black edges, hatching, grey fills, no meaning carried by colour
alone), labels its axes with their units, and is the same for the same input: a fixed style (matplotlib's
defaults, not the user's matplotlibrc), a fixed SVG id salt, and no creation date in SVG or PDF metadata. The
figures are built on :class:`matplotlib.figure.Figure` without pyplot, so no global state or display is touched.

- :func:`reliability_diagram`: accuracy per bin against the diagonal, the gap hatched, the count per bin below,
  and the ECE in the title; each bin's bar has the SVG id ``bin-K``.
- :func:`class_shares`: each class's share of the summed loss, with its sample count.
- :func:`loss_histogram`: the per-sample losses, with the mean and the quantiles marked.
- :func:`difference_histogram`: ``diff``'s per-sample differences, with zero, delta and its interval marked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ce_cli.array_types import Float64Array
from ce_cli.errors import OutputError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ce_cli.calibration.metrics import Calibration

SUFFIXES = (".png", ".svg", ".pdf")
SIZE = (6.4, 4.8)  # inches
DPI = 100  # a PNG of 640 x 480 pixels
METADATA: Mapping[str, Mapping[str, Any]] = {
    ".png": {"Software": None},
    ".svg": {"Date": None, "Creator": None},
    ".pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None},
}


@contextmanager
def _style() -> Iterator[None]:
    import matplotlib as mpl

    with mpl.rc_context():
        mpl.rcdefaults()  # the user's matplotlibrc does not change the picture
        mpl.rcParams.update({"svg.hashsalt": "ce-loss", "svg.fonttype": "none", "pdf.compression": 6})
        yield


def _save(draw: Callable[[Figure], None], path: str) -> None:
    """Draw into a new figure and write it to ``path`` (raises :class:`OutputError` if it cannot be written)."""
    from matplotlib.figure import Figure

    suffix = Path(path).suffix.lower()
    with _style():
        figure = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
        draw(figure)
        try:
            figure.savefig(path, format=suffix[1:], metadata=dict(METADATA[suffix]))
        except OSError as error:
            raise OutputError(f"the picture '{path}' cannot be written: {error.strerror or error}") from None


def reliability_diagram(calibration: Calibration, path: str) -> None:
    """The reliability diagram of ``calibration`` (see the module docstring)."""
    rows = calibration.rows()
    sums = calibration.sums

    def draw(figure: Figure) -> None:
        top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1))
        top.plot([0, 1], [0, 1], linestyle="--", color="black", linewidth=1, label="perfect calibration")
        for k, row in enumerate(rows):
            width = max(row.high - row.low, 0.01)
            (bar,) = top.bar(
                row.low, row.accuracy, width=width, align="edge", color="0.75", edgecolor="black", linewidth=0.8,
                label="accuracy" if k == 0 else None,
            )  # fmt: skip
            bar.set_gid(f"bin-{k}")
            low, high = sorted((row.accuracy, row.confidence))
            top.bar(
                row.low, high - low, bottom=low, width=width, align="edge", fill=False, hatch="///",
                edgecolor="0.3", linewidth=0, label="gap to mean confidence" if k == 0 else None,
            )  # fmt: skip
            bottom.bar(row.low, row.count, width=width, align="edge", color="0.5", edgecolor="black", linewidth=0.8)
        interval = ""
        if calibration.ece_ci is not None:
            interval = f" (95% CI {calibration.ece_ci[0]:.4f} to {calibration.ece_ci[1]:.4f})"
        figure.suptitle(f"Reliability: ECE {calibration.ece:.4f}{interval}\n{sums.n_bins} {sums.binning} bins, "
                        f"{calibration.n_samples} samples")  # fmt: skip
        top.set_ylabel("accuracy (fraction right)")
        top.set_xlim(0, 1)
        top.set_ylim(0, 1)
        figure.legend(loc="outside lower center", ncols=3, fontsize="small", frameon=False)
        bottom.set_xlabel("confidence (predicted probability)")
        bottom.set_ylabel("samples")

    _save(draw, path)


def class_shares(classes: Mapping[int, tuple[int, float]], path: str, *, label: str = "class") -> None:
    """Each class's share of the summed loss (``classes``: class -> (samples, summed loss))."""
    keys = sorted(classes)
    total = sum(classes[k][1] for k in keys)

    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        shares = [100.0 * classes[k][1] / total if total else 0.0 for k in keys]
        positions = np.arange(len(keys))
        axes.bar(positions, shares, color="0.6", edgecolor="black", hatch="..")
        axes.set_xticks(positions, [f"{k}\n(n={classes[k][0]})" for k in keys] if len(keys) <= 20 else None)
        axes.set_xlabel(f"{label} (samples)")
        axes.set_ylabel("share of the summed loss (%)")
        axes.set_title(f"Loss by {label}: summed loss {total:.6g}")

    _save(draw, path)


def loss_histogram(losses: Float64Array, path: str, *, unit: str = "nats") -> None:
    """The per-sample losses (finite ones), with the mean and the 50th, 90th and 99th percentiles marked."""
    finite = losses[np.isfinite(losses)]

    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        axes.hist(finite, bins=50, color="0.7", edgecolor="black", linewidth=0.5)
        if len(finite):
            mean = float(np.mean(finite))
            axes.axvline(mean, color="black", linewidth=1.5, label=f"mean {mean:.4f}")
            styles = (":", "-.", (0, (5, 2, 1, 2)))
            for style, q in zip(styles, (50, 90, 99), strict=True):
                value = float(np.percentile(finite, q))
                axes.axvline(value, color="black", linestyle=style, linewidth=1, label=f"p{q} {value:.4f}")
            axes.legend(fontsize="small")
        axes.set_xlabel(f"loss per sample ({unit})")
        axes.set_ylabel("samples")
        axes.set_title(f"Per-sample losses: {len(finite)} samples")

    _save(draw, path)


def difference_histogram(
    d: Float64Array, delta: float, interval: tuple[float, float], path: str, *, confidence: float = 0.95
) -> None:
    """``diff``'s per-sample differences ``loss_new - loss_baseline``, with zero, delta and its interval marked."""
    finite = d[np.isfinite(d)]

    def draw(figure: Figure) -> None:
        axes = figure.subplots()
        axes.hist(finite, bins=50, color="0.7", edgecolor="black", linewidth=0.5)
        axes.axvline(0.0, color="black", linewidth=1, label="0 (no difference)")
        axes.axvline(delta, color="black", linewidth=2, linestyle="--", label=f"delta {delta:.4f}")
        if all(np.isfinite(interval)):
            axes.axvspan(*interval, facecolor="none", edgecolor="black", hatch="\\\\", linewidth=0.5,
                         label=f"{confidence:.0%} CI {interval[0]:.4f} to {interval[1]:.4f}")  # fmt: skip
        axes.legend(fontsize="small")
        axes.set_xlabel("loss_new - loss_baseline per sample (nats; below 0: NEW better)")
        axes.set_ylabel("samples")
        axes.set_title(f"Per-sample differences: {len(finite)} samples")

    _save(draw, path)
