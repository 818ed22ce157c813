"""Typer's per-run costs that a run does not need: converters and commands built for every option.

Typer releases that convert option values with pydantic (0.2x) build a ``TypeAdapter`` for
every parameter of the command that runs, on every run, whether the option was given or not:
about 0.3 ms each, and the first costs about 20 ms more (pydantic's plugin loader imports
``importlib.metadata``). :func:`defer_option_converters` has Typer build an option's converter
only when a value needs converting:

- an option left out (``None``) is never converted (Typer returns it as it is);
- a value already of the option's plain type (``str``, ``int``, ``float``, ``bool``), within
  its bounds, or one of a ``Literal``'s strings (case-sensitive, with no token normaliser),
  is what the converter would return, so it is returned;
- anything else (text from the command line to turn into a number, a value out of bounds, a
  list) goes through the converter Typer builds, built once per plain type where neither
  option has bounds or a parser, and its errors are Typer's.

Any other annotation, and any Typer without that module, is left as Typer does it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Literal, get_args, get_origin

PLAIN = (str, bool, int, float)


class DeferredConverter:
    """Typer's converter for one option (``build()`` makes it), built the first time a value
    is not one ``unchanged(value, context)`` says the converter would return as it is."""

    __slots__ = ("_build", "_built", "_unchanged")

    def __init__(self, build: Callable[[], Any], unchanged: Callable[[Any, Any], bool]) -> None:
        self._build = build
        self._unchanged = unchanged
        self._built: Any = None

    def built(self) -> Any:
        """The converter Typer builds (built now if not yet)."""
        if self._built is None:
            self._built = self._build()
        return self._built

    def validate_python(self, value: Any, *args: Any, context: Any = None, **kwargs: Any) -> Any:
        """``value`` converted as Typer's converter does (the converter's own call)."""
        if self._unchanged(value, context):
            return value
        return self.built().validate_python(value, *args, context=context, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.built(), name)


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


def defer_option_converters() -> None:
    """Have Typer build an option's converter only when a value needs it (idempotent; nothing
    where Typer has no such step). See the module's docstring."""
    try:
        from typer import _adapters  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return
    build, build_leaf = getattr(_adapters, "build_adapter", None), getattr(_adapters, "build_leaf_adapter", None)
    if build is None or build_leaf is None or getattr(build, "deferred_by_ce_loss", False):
        return
    shared: dict[type, Any] = {}

    @functools.wraps(build_leaf)
    def leaf(annotation: Any, parameter_info: Any) -> Any:
        plain = (
            annotation in PLAIN
            and all(getattr(parameter_info, name, None) is None for name in ("parser", "min", "max"))
            and not getattr(parameter_info, "clamp", False)
        )
        if not plain:
            return build_leaf(annotation, parameter_info)
        if annotation not in shared:
            shared[annotation] = build_leaf(annotation, parameter_info)
        return shared[annotation]

    @functools.wraps(build)
    def deferred(annotation: Any, parameter_info: Any) -> Any:
        unchanged = unchanged_test(annotation, parameter_info)
        if unchanged is None:
            return build(annotation, parameter_info)
        return DeferredConverter(lambda: build(annotation, parameter_info), unchanged)

    deferred.deferred_by_ce_loss = True  # type: ignore[attr-defined]
    _adapters.build_leaf_adapter = leaf
    _adapters.build_adapter = deferred


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
