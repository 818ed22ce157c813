"""Two models on the same samples (``ce-loss diff``): the difference of their mean losses, its interval,
its tests and where it comes from. Pure numpy (plus the compiled kernel), importable without Typer or Rich.

:mod:`~ce_cli.paired.samples` (one model's per-sample values, from its family), :mod:`~ce_cli.paired.difference`
(the comparison), :mod:`~ce_cli.paired.bootstrap` (the Poisson bootstrap), :mod:`~ce_cli.paired.special`
(the t and binomial tails), :mod:`~ce_cli.paired.kl` (the per-sample KL divergence).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ce_cli.lazy import attributes_from

if TYPE_CHECKING:
    from ce_cli.paired.difference import Difference, DiffRequest, paired_difference
    from ce_cli.paired.samples import PairedSamples

# imported when first used: the command line imports the package's defaults for every command
_HOMES = {
    "DiffRequest": "ce_cli.paired.difference",
    "Difference": "ce_cli.paired.difference",
    "paired_difference": "ce_cli.paired.difference",
    "PairedSamples": "ce_cli.paired.samples",
}

__all__ = ["DiffRequest", "Difference", "PairedSamples", "paired_difference"]


__getattr__ = attributes_from(__name__, _HOMES)
