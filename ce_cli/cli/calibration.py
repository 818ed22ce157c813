"""``compute --calibration``, ``--fit-temperature`` and ``--plot``: their options, and the run between the
family's confidences and the calibration's statistics."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from ce_cli.calibration.bins import DEFAULT_BINS
from ce_cli.records import frozen

if TYPE_CHECKING:
    from ce_cli.calibration.outcome import CalibrationOutcome
    from ce_cli.families.protocol import Family
    from ce_cli.formulas import FormulaSpec

CALIBRATION = "Calibration"

CalibrationOption = Annotated[
    bool,
    typer.Option(
        "--calibration",
        help="Is the confidence honest? ECE, Brier and the reliability table.",
        rich_help_panel=CALIBRATION,
    ),
]
BinsOption = Annotated[
    int,
    typer.Option("--bins", min=1, metavar="N", help="Calibration bins.", rich_help_panel=CALIBRATION),
]
BinningOption = Annotated[
    Literal["uniform", "quantile"],
    typer.Option(
        "--binning", help="uniform (torchmetrics) or quantile (equal-mass) bins.", rich_help_panel=CALIBRATION
    ),
]
FitTemperatureOption = Annotated[
    bool,
    typer.Option(
        "--fit-temperature",
        help="Fit the temperature T minimising the NLL of softmax(logits / T); show the loss and ECE before and after.",
        rich_help_panel=CALIBRATION,
    ),
]
BootstrapOption = Annotated[
    int,
    typer.Option(
        "--bootstrap",
        min=0,
        metavar="B",
        help="A 95% interval for the ECE from B Poisson-bootstrap resamples (0: none).",
        rich_help_panel=CALIBRATION,
    ),
]
SeedOption = Annotated[
    int,
    typer.Option("--seed", metavar="S", help="The bootstrap's seed.", rich_help_panel=CALIBRATION),
]
PlotOption = Annotated[
    str | None,
    typer.Option(
        "--plot",
        metavar="FILE",
        help="Draw into FILE (.png, .svg, .pdf; needs matplotlib): the reliability diagram, the loss per "
        "class (--by-class) or the histogram of losses.",
        rich_help_panel=CALIBRATION,
    ),
]


@frozen
class CalibrationRequest:
    """What the calibration options ask for."""

    calibration: bool = False
    bins: int = DEFAULT_BINS
    binning: Literal["uniform", "quantile"] = "uniform"
    fit_temperature: bool = False
    bootstrap: int = 0
    seed: int = 0

    @property
    def asked(self) -> bool:
        return self.calibration or self.fit_temperature


def check_request(request: CalibrationRequest, *, output_format: str, quiet: bool) -> None:
    """Refuse what cannot be shown, before anything is read.

    Raises:
        OptionError: the calibration options without the output that shows them, or apart from --calibration.
    """
    from ce_cli.errors import OptionError

    if not request.calibration:
        for flag, given in (
            ("--bins", request.bins != DEFAULT_BINS),
            ("--binning", request.binning != "uniform"),
            ("--bootstrap", request.bootstrap != 0),
        ):
            if given:
                raise OptionError(f"{flag} sets up --calibration: give --calibration too")
    if request.seed != 0 and not request.bootstrap:
        raise OptionError("--seed seeds the bootstrap: give --bootstrap B too")
    if request.asked and (quiet or output_format not in ("table", "json")):
        shown = "-q" if quiet else f"-f {output_format}"
        raise OptionError(
            f"--calibration and --fit-temperature are shown in the table and in -f json, not with {shown}"
        )


def calibrate(family: Family, inputs: Any, formula: FormulaSpec, request: CalibrationRequest) -> CalibrationOutcome:
    """The calibration statistics and the fitted temperature that ``request`` asks for."""
    from ce_cli.blocks import default_threads
    from ce_cli.calibration.interval import ece_interval
    from ce_cli.calibration.metrics import Calibration
    from ce_cli.calibration.outcome import CalibrationOutcome, FittedTemperature
    from ce_cli.calibration.sums import bin_sums
    from ce_cli.calibration.temperature import fit_temperature
    from ce_cli.paired.native import sums_kernel

    blocks = family.temperature_blocks(inputs, formula) if request.fit_temperature else None  # refused first
    samples, positions = family.confidences(inputs, formula)
    sums = bin_sums(samples, request.bins, request.binning)
    calibration = None
    if request.calibration:
        interval = None
        if request.bootstrap:
            interval = ece_interval(
                samples, sums.edges, request.binning, positions=positions, resamples=request.bootstrap,
                seed=request.seed, kernel=sums_kernel(), threads=default_threads(),
            )  # fmt: skip
        calibration = Calibration(sums, interval, request.bootstrap, request.seed)
    fitted = None
    if blocks is not None:
        fit = fit_temperature(blocks)
        after, _ = family.confidences(inputs, formula, temperature=fit.value)
        ece_after = Calibration(bin_sums(after, request.bins, request.binning)).ece
        fitted = FittedTemperature(fit, Calibration(sums).ece, ece_after)
    return CalibrationOutcome(calibration, fitted)


def draw_compute_plot(
    path: str, family: Family, report: Any, outcome: CalibrationOutcome | None, by_class: bool
) -> None:
    """``compute --plot``: the reliability diagram with --calibration, the loss per class with --by-class, else
    the histogram of the per-sample losses (:mod:`ce_cli.render.plots`)."""
    from ce_cli.render import plots

    if outcome is not None and outcome.calibration is not None:
        plots.reliability_diagram(outcome.calibration, path)
    elif by_class:
        classes = family.accumulate(report).classes or {}
        label = "label" if family.elementwise else "class"
        plots.class_shares({k: (s.count, s.loss.value()) for k, s in classes.items()}, path, label=label)
    else:
        samples = family.paired(report)
        plots.loss_histogram(samples.losses[samples.counted], path)


def check_plot_path(path: str) -> None:
    """Refuse, before anything is computed, a file type ce-loss does not draw or a missing matplotlib.

    Raises:
        OptionError: the suffix is not .png, .svg or .pdf, or matplotlib is not installed.
    """
    from pathlib import Path

    from ce_cli.errors import OptionError
    from ce_cli.render import plots

    suffix = Path(path).suffix.lower()
    if suffix not in plots.SUFFIXES:
        raise OptionError(f"--plot draws {', '.join(plots.SUFFIXES)} files, not '{path}'")
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        why = "" if isinstance(error, ModuleNotFoundError) else f" (matplotlib failed to import: {error})"
        raise OptionError(f"--plot needs matplotlib: pip install 'ce-loss[plot]'{why}") from None
