"""Loss families, each one package behind one protocol (:class:`~ce_cli.families.protocol.Family`).

``--task`` looks a family up in :data:`REGISTRY`; the commands never branch on
which it is. A new family is a package that implements the protocol and is
registered with :func:`register` (see the README's Development section).
"""

from __future__ import annotations

from ce_cli.errors import unknown_choice
from ce_cli.families.binary import BINARY
from ce_cli.families.protocol import OPTIONS, Family
from ce_cli.families.softmax import SOFTMAX

REGISTRY: dict[str, Family] = {}


def register(family: Family) -> None:
    """Make ``family`` the one ``--task family.name`` runs."""
    REGISTRY[family.name] = family


def family_for(name: str) -> Family:
    """The family registered as ``name``.

    Raises:
        OptionError: none is.
    """
    try:
        return REGISTRY[name]
    except KeyError:
        raise unknown_choice("task", name, REGISTRY) from None


register(SOFTMAX)
register(BINARY)

__all__ = ["OPTIONS", "REGISTRY", "Family", "family_for", "register"]
