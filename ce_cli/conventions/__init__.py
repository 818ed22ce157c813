"""Other frameworks' cross-entropy, as each computes it (``--convention``). Pure numpy.

:mod:`~ce_cli.conventions.softmax` (softmax over classes) and :mod:`~ce_cli.conventions.binary` (one
sigmoid per element) reproduce each framework's formula, clipping, label smoothing and reduction;
:mod:`~ce_cli.conventions.options` says which options each framework has. PyTorch's own convention is
the families' (:mod:`ce_cli.families`).
"""

from ce_cli.conventions.options import CONVENTIONS, ConventionResult

__all__ = ["CONVENTIONS", "ConventionResult"]
