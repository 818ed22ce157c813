"""Two models on the same samples (``ce-loss diff``): the difference of their mean losses, its interval,
its tests and where it comes from. Pure numpy (plus the compiled kernel), importable without Typer or Rich.

:mod:`~ce_cli.paired.samples` (one model's per-sample values, from its family), :mod:`~ce_cli.paired.difference`
(the comparison), :mod:`~ce_cli.paired.bootstrap` (the Poisson bootstrap), :mod:`~ce_cli.paired.special`
(the t and binomial tails), :mod:`~ce_cli.paired.kl` (the per-sample KL divergence).
"""

from ce_cli.paired.difference import Difference, DiffRequest, paired_difference
from ce_cli.paired.samples import PairedSamples

__all__ = ["DiffRequest", "Difference", "PairedSamples", "paired_difference"]
