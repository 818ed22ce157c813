"""ce-loss: cross-entropy losses as PyTorch computes them, checkable from the shell.

The public API mirrors ``torch.nn.functional.cross_entropy``::

    >>> import ce_cli
    >>> round(ce_cli.cross_entropy([[0.1234, 0.5555, 0.3211]] * 3, [0, 1, 2]), 4)
    1.1142

The names below are imported when first used, so that importing the package
(as the ``ce-loss`` command does first) costs nothing before it can answer Ctrl-C.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ce_cli.lazy import attributes_from

if TYPE_CHECKING:
    from ce_cli.distillation import distillation_loss, kl_div
    from ce_cli.errors import CeLossError, InputError, OptionError, OutputError, ShapeError, TargetError
    from ce_cli.families.softmax.losses import REDUCTIONS
    from ce_cli.formulas import FORMULAS
    from ce_cli.functional import binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy
    from ce_cli.log_sum_exp import log_softmax, logsumexp

__version__ = "0.1.0"

_HOMES = {
    "FORMULAS": "ce_cli.formulas",
    "REDUCTIONS": "ce_cli.families.softmax.losses",
    "CeLossError": "ce_cli.errors",
    "InputError": "ce_cli.errors",
    "OptionError": "ce_cli.errors",
    "OutputError": "ce_cli.errors",
    "ShapeError": "ce_cli.errors",
    "TargetError": "ce_cli.errors",
    "binary_cross_entropy": "ce_cli.functional",
    "binary_cross_entropy_with_logits": "ce_cli.functional",
    "cross_entropy": "ce_cli.functional",
    "distillation_loss": "ce_cli.distillation",
    "kl_div": "ce_cli.distillation",
    "log_softmax": "ce_cli.log_sum_exp",
    "logsumexp": "ce_cli.log_sum_exp",
}

__all__ = [
    "FORMULAS",
    "REDUCTIONS",
    "CeLossError",
    "InputError",
    "OptionError",
    "OutputError",
    "ShapeError",
    "TargetError",
    "__version__",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "distillation_loss",
    "kl_div",
    "log_softmax",
    "logsumexp",
]


__getattr__ = attributes_from(__name__, _HOMES)  # the public names, each imported when first asked for


def __dir__() -> list[str]:
    return sorted(__all__)
