"""Typer's per-run costs that a run does not need: converters and commands built for every option.

One option converter per plain type, shared, instead of one per option built on every run.

Typer releases that convert option values with pydantic (0.2x) build a ``TypeAdapter``
for every parameter of the command that runs, on every run, whether the option was given
or not: about 1 ms each, 25 ms of ``compute``'s start-up against a one-option app
(``benchmarks/bench.py startup``). An option of type ``str``, ``bool``, ``int`` or ``float``
with no parser and no bounds gets the same converter whichever option it is, so
:func:`share_plain_adapters` has Typer build each of those once. Any other option, and any
Typer without that module, is left as Typer does it.
"""

from __future__ import annotations

import functools
from typing import Any

PLAIN = (str, bool, int, float)


def share_plain_adapters() -> None:
    """Have Typer build one converter per plain type (idempotent; nothing where Typer has no such step)."""
    try:
        from typer import _adapters  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return
    build = getattr(_adapters, "build_leaf_adapter", None)
    if build is None or getattr(build, "shared_by_ce_loss", False):
        return
    built: dict[type, Any] = {}

    @functools.wraps(build)
    def shared(annotation: Any, parameter_info: Any) -> Any:
        plain = (
            annotation in PLAIN
            and all(getattr(parameter_info, name, None) is None for name in ("parser", "min", "max"))
            and not getattr(parameter_info, "clamp", False)
        )
        if not plain:
            return build(annotation, parameter_info)
        if annotation not in built:
            built[annotation] = build(annotation, parameter_info)
        return built[annotation]

    shared.shared_by_ce_loss = True  # type: ignore[attr-defined]
    _adapters.build_leaf_adapter = shared


def only_the_command_run(app: Any, argv: list[str]) -> Any:
    """``app`` with only the command ``argv`` names (a copy; ``app`` itself is left whole).

    Typer builds every command's options on every run (about 3 ms per command here); ``ce-loss
    compute ...`` needs only ``compute``'s. Anything else (no command, ``--help``, a misspelt
    command, which the group's own error names) gets the whole app.
    """
    import copy

    if len(argv) < 2:
        return app
    chosen = [info for info in app.registered_commands if _name(info) == argv[1]]
    if not chosen:
        return app
    lean = copy.copy(app)
    lean.registered_commands = chosen
    return lean


def _name(info: Any) -> str:
    """A registered command's name as Typer gives it: its own, or its function's with dashes."""
    return str(info.name or info.callback.__name__.lower().replace("_", "-"))
