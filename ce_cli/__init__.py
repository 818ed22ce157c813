"""ce-loss: cross-entropy losses as PyTorch computes them, checkable from the shell.

The public API mirrors ``torch.nn.functional.cross_entropy``::

    >>> import ce_cli
    >>> round(ce_cli.cross_entropy([[0.1234, 0.5555, 0.3211]] * 3, [0, 1, 2]), 4)
    1.1142
"""

from ce_cli.errors import CeLossError, InputError, OptionError, OutputError, ShapeError, TargetError
from ce_cli.formulas import FORMULAS
from ce_cli.functional import binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy
from ce_cli.log_sum_exp import log_softmax, logsumexp
from ce_cli.losses import REDUCTIONS

__version__ = "0.1.0"

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
    "log_softmax",
    "logsumexp",
]
