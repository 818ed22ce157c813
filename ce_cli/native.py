"""Which kernel evaluates the losses: the compiled one (``ce_cli._kernel``) or numpy, and on which CPU variant.

The compiled kernel (``ce_cli/native/kernel.c``) is built when the package is
installed with a C compiler at hand; without one the install still succeeds and
numpy computes everything. The kernel holds several copies of its code, one per
CPU variant (``baseline`` everywhere; ``avx2`` for AVX2+FMA and ``avx512`` on
x86-64), and the best one this CPU supports is used.

The environment variable ``CE_LOSS_KERNEL`` chooses, for tests and benchmarks:
``numpy``, ``native`` (the best variant), or ``native-<variant>``. A choice that
cannot run here (no compiled kernel, a variant this CPU lacks) is an error,
never a silent fallback. Pure standard library; importable without numpy's
help or the command line's.
"""

from __future__ import annotations

import importlib
import os
from functools import cache
from types import ModuleType

from ce_cli.errors import OptionError
from ce_cli.records import frozen

ENVIRONMENT = "CE_LOSS_KERNEL"


def _compiled() -> ModuleType | None:
    try:
        module: ModuleType = importlib.import_module("ce_cli._kernel")
    except ImportError:
        return None
    return module


@frozen
class Kernel:
    """The implementation that runs.

    Attributes:
        name: ``"numpy"`` or ``"native"``.
        variant: the CPU variant of the native kernel (``None`` for numpy).
        index: the variant's index in the compiled module.
        module: the compiled module (``None`` for numpy).
        note: why numpy runs when nobody asked for it (no compiled kernel), else ``""``.
    """

    name: str
    variant: str | None = None
    index: int = -1
    module: ModuleType | None = None
    note: str = ""

    @property
    def native(self) -> bool:
        return self.module is not None

    def describe(self) -> str:
        """``native (avx512)``, ``numpy``, or ``numpy (no compiled kernel in this install)``."""
        if self.module is not None:
            return f"native ({self.variant})"
        return f"numpy ({self.note})" if self.note else "numpy"


def compiled_variants() -> tuple[str, ...]:
    """The CPU variants in the compiled kernel (empty without one)."""
    module = _compiled()
    return tuple(module.variants()) if module is not None else ()


def runnable_variants() -> tuple[str, ...]:
    """The compiled variants this CPU can run, the most capable last."""
    module = _compiled()
    if module is None:
        return ()
    return tuple(name for index, name in enumerate(module.variants()) if module.cpu_supports(index))


@cache
def select(choice: str) -> Kernel:
    """The kernel for a value of ``CE_LOSS_KERNEL`` (``""``: the best available).

    Raises:
        OptionError: the choice is unknown or cannot run on this machine.
    """
    module = _compiled()
    variants = compiled_variants()
    choices = ("numpy", "native", *(f"native-{v}" for v in variants))
    if choice == "numpy":
        return Kernel("numpy")
    if choice == "":
        if module is None:
            return Kernel("numpy", note="no compiled kernel in this install")
        choice = "native"
    if choice not in choices and not choice.startswith("native-"):
        raise OptionError(f"{ENVIRONMENT}={choice} is not a kernel; choose from {', '.join(choices)}")
    if module is None:
        raise OptionError(
            f"{ENVIRONMENT}={choice}, but this install has no compiled kernel "
            "(reinstall with a C compiler present, or unset it to use numpy)"
        )
    runnable = runnable_variants()
    variant = runnable[-1] if choice == "native" else choice.removeprefix("native-")
    if variant not in variants:
        raise OptionError(f"{ENVIRONMENT}={choice} is not a kernel; choose from {', '.join(choices)}")
    if variant not in runnable:
        raise OptionError(
            f"{ENVIRONMENT}={choice}: this CPU cannot run the {variant} variant (it runs: {', '.join(runnable)})"
        )
    return Kernel("native", variant, variants.index(variant), module)


def active() -> Kernel:
    """The kernel ``CE_LOSS_KERNEL`` chooses (read on every call, so tests can switch it)."""
    return select(os.environ.get(ENVIRONMENT, "").strip())


def version_line() -> str:
    """What ``ce-loss --version`` says about the kernel: the active one and the CPU's variants."""
    try:
        kernel = active().describe()
    except OptionError as error:
        kernel = f"none ({error})"
    runnable = runnable_variants()
    cpu = f"; this CPU runs {', '.join(runnable)}" if runnable else ""
    return f"kernel: {kernel}{cpu}"
