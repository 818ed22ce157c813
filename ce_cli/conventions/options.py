"""The conventions, the options each framework has, and what a convention's computation returns."""

from __future__ import annotations

import numpy as np

from ce_cli.array_types import Float64Array
from ce_cli.errors import OptionError
from ce_cli.records import frozen

CONVENTIONS = ("pytorch", "keras", "keras-tf", "tf-v1", "optax", "sklearn", "fairseq", "transformers-causal-lm")
FRAMEWORK = {
    "pytorch": "PyTorch",
    "keras": "Keras 3 (jax, numpy or torch backend)",
    "keras-tf": "Keras 3 on TensorFlow",
    "tf-v1": "TensorFlow's tf.compat.v1.losses",
    "optax": "optax",
    "sklearn": "scikit-learn's log_loss",
    "fairseq": "fairseq's label_smoothed_nll_loss",
    "transformers-causal-lm": "transformers' ForCausalLMLoss",
}
KERAS_EPSILON = 1e-7  # keras.config.epsilon()


@frozen
class ConventionResult:
    """A convention's losses: per sample (weighted as the framework weights them), and the reduced value.

    Attributes:
        per_sample: the framework's per-sample losses, before its reduction, times any sample weight.
        numerator, denominator: the reduced value is their ratio (``denominator`` 1 for a sum).
        notes: what the framework did that PyTorch does not (clipping, its denominator), one sentence each.
    """

    convention: str
    per_sample: Float64Array
    numerator: float
    denominator: float
    notes: tuple[str, ...] = ()

    @property
    def value(self) -> float:
        with np.errstate(invalid="ignore", divide="ignore"):
            return float(np.float64(self.numerator) / np.float64(self.denominator))


def refuse(convention: str, option: str, why: str = "") -> OptionError:
    """The usage error for an option ``convention``'s framework does not have."""
    return OptionError(f"{option} is not an option of --convention {convention}: {FRAMEWORK[convention]} has none{why}")


def check_convention(name: str) -> str:
    if name not in CONVENTIONS:
        raise OptionError(f"convention {name!r} is not one of {', '.join(CONVENTIONS)}")
    return name
