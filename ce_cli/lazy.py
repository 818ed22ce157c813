"""Names a package exports, imported from their modules when first asked for (PEP 562), so that importing the
package costs nothing before they are used. The standard library only."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def attributes_from(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: each name of ``homes`` (name -> its module) is imported when
    first asked for and kept in the package's namespace; any other name is an ``AttributeError``."""

    def attribute(name: str) -> Any:
        if name in homes:
            value = getattr(importlib.import_module(homes[name]), name)
            setattr(sys.modules[package], name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return attribute
