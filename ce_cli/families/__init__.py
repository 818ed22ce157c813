"""Loss families, each one package behind one protocol (:class:`~ce_cli.families.protocol.Family`).

``--task`` looks a family up in the registry (:func:`family_for`); the commands
never branch on which it is. A new family is a package that implements the
protocol and is registered with :func:`register` (see the README's Development
section). The built-in families are imported when first looked up, so that
their own modules can import one another freely.
"""

from __future__ import annotations

import importlib

from ce_cli.errors import unknown_choice
from ce_cli.families.protocol import OPTIONS, Family

# The built-in families: the --task name, and the module whose FAMILY implements it.
BUILT_IN = {
    "multiclass": "ce_cli.families.softmax.family",
    "binary": "ce_cli.families.binary.family",
    "distill": "ce_cli.families.distill.family",
}
REGISTRY: dict[str, Family] = {}


def register(family: Family) -> None:
    """Make ``family`` the one ``--task family.name`` runs."""
    REGISTRY[family.name] = family


def task_names() -> list[str]:
    """Every ``--task`` name: the built-in families, then those registered since."""
    return [*BUILT_IN, *(name for name in REGISTRY if name not in BUILT_IN)]


def family_for(name: str) -> Family:
    """The family registered as ``name`` (a built-in one is imported now).

    Raises:
        OptionError: none is.
    """
    if name not in REGISTRY and name in BUILT_IN:
        family: Family = importlib.import_module(BUILT_IN[name]).FAMILY
        register(family)
    try:
        return REGISTRY[name]
    except KeyError:
        raise unknown_choice("task", name, task_names()) from None


__all__ = ["BUILT_IN", "OPTIONS", "REGISTRY", "Family", "family_for", "register", "task_names"]
