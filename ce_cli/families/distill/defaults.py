"""The distillation options' defaults, which the API, the input spec and the command line all take from here
(a module of constants alone: the command line imports it at start-up)."""

from typing import Final

DEFAULT_TEMPERATURE: Final = 1.0
DEFAULT_ALPHA: Final = 1.0
DEFAULT_DIVERGENCE: Final = "forward_kl"
DEFAULT_TEACHER_FORM: Final = "logits"
