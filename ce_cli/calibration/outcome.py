"""What ``compute --calibration`` and ``--fit-temperature`` found, together (the renderers' input)."""

from __future__ import annotations

from ce_cli.calibration.metrics import Calibration
from ce_cli.calibration.temperature import Temperature
from ce_cli.records import frozen


@frozen
class FittedTemperature:
    """The fitted temperature with the ECE before (``T = 1``) and after it, in the same kind of bins."""

    fit: Temperature
    ece_before: float
    ece_after: float


@frozen
class CalibrationOutcome:
    """``calibration``: where ``--calibration`` was given; ``temperature``: where ``--fit-temperature`` was."""

    calibration: Calibration | None
    temperature: FittedTemperature | None
