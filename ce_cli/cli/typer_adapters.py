"""Typer's per-run costs that a run does not need: converters and commands built for every option.

Typer releases that convert option values with pydantic (0.2x) build a converter (a pydantic
``TypeAdapter``) for every parameter of the command that runs, on every run, whether the option was
given or not, and import pydantic to do it: about 60 ms of a 210 ms run here, most of it the import.
:func:`defer_option_converters` has Typer build an option's converter, and so import pydantic, only
when a value needs converting:

- an option left out (``None``) is never converted (Typer returns it as it is);
- a value already of the option's plain type (``str``, ``int``, ``float``, ``bool``), within
  its bounds, or one of a ``Literal``'s strings (case-sensitive, with no token normaliser),
  is what the converter would return, so it is returned;
- anything else (text from the command line to turn into a number, a value out of bounds, a
  list) goes through the converter Typer builds, and its errors are Typer's.

Any other annotation (a file, a path), and any Typer without that step, is left as Typer does it.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, Literal, get_args, get_origin

PLAIN = (str, bool, int, float)


def unchanged_test(annotation: Any, parameter_info: Any) -> Callable[[Any, Any], bool] | None:
    """How to tell a value the converter of ``annotation`` would return as it is, or None
    where this module does not know (the converter is then built as Typer builds it)."""
    if getattr(parameter_info, "parser", None) is not None:
        return None
    if annotation in PLAIN:
        low, high = getattr(parameter_info, "min", None), getattr(parameter_info, "max", None)

        def plain(value: Any, context: Any) -> bool:
            return type(value) is annotation and (low is None or value >= low) and (high is None or value <= high)

        return plain
    choices = get_args(annotation)
    if get_origin(annotation) is Literal and choices and all(type(choice) is str for choice in choices):
        if not getattr(parameter_info, "case_sensitive", True):
            return None

        def choice(value: Any, context: Any) -> bool:
            ctx = context.get("ctx") if isinstance(context, dict) else None
            normalises = ctx is not None and getattr(ctx, "token_normalize_func", None) is not None
            return type(value) is str and value in choices and not normalises

        return choice
    if get_origin(annotation) is list and unchanged_test(get_args(annotation)[0], parameter_info) is not None:
        return lambda value, context: False  # converted only when given (an option left out is ())
    return None


def deferred_class(base: type) -> type:
    """A subclass of Typer's ``RuntimeParam`` (``base``, a frozen dataclass) that builds Typer's own
    (``build()``) the first time a value is not one ``unchanged(value, context)`` says it would
    return as it is, and then hands every such value to it."""

    @dataclasses.dataclass(frozen=True)
    class DeferredRuntimeParam(base):  # type: ignore[misc,valid-type,unused-ignore]
        build: Callable[[], Any] = dataclasses.field(compare=False, repr=False)
        unchanged: Callable[[Any, Any], bool] = dataclasses.field(compare=False)
        built: list[Any] = dataclasses.field(default_factory=list, compare=False, repr=False)  # 0 or 1: Typer's

        def typer_s(self) -> Any:
            """Typer's own runtime parameter (built now if not yet)."""
            if not self.built:
                self.built.append(self.build())
            return self.built[0]

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            if self.unchanged(value, {"ctx": ctx, "param": param}):
                return value
            return self.typer_s()._coerce_value(value, param=param, ctx=ctx)

    return DeferredRuntimeParam


def defer_option_converters() -> None:
    """Have Typer build an option's converter only when a value needs it (idempotent; nothing
    where Typer has no such step). See the module's docstring."""
    try:
        from typer import _coercion, core  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return
    build, base = getattr(core, "build_runtime_param", None), getattr(_coercion, "RuntimeParam", None)
    if build is None or base is None or getattr(build, "deferred_by_ce_loss", False):
        return
    deferred_param = deferred_class(base)

    @functools.wraps(build)
    def deferred(descriptor: Any) -> Any:
        unchanged = None
        if getattr(descriptor, "file_annotation", None) is None:
            unchanged = unchanged_test(descriptor.annotation, descriptor.parameter_info)
        if unchanged is None:
            return build(descriptor)
        return deferred_param(
            parameter_info=descriptor.parameter_info,
            annotation=descriptor.annotation,
            build=lambda: build(descriptor),
            unchanged=unchanged,
        )

    deferred.deferred_by_ce_loss = True  # type: ignore[attr-defined]
    core.build_runtime_param = deferred  # type: ignore[attr-defined,unused-ignore]


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
