"""Frozen value records: what ``@dataclass(frozen=True)`` gives, without compiling code per class.

On CPython 3.11, :func:`dataclasses.dataclass` writes and compiles six small functions for
every frozen class (``__init__``, ``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__``,
``__delattr__``): about 1 ms a class, which for the records one ``compute`` imports was about
35 ms of its start-up. Decorated with :func:`frozen`, a class gets the same behaviour from
functions shared by every record:

- ``__init__`` taking the fields in order, positionally or by keyword (only by keyword with
  ``kw_only=True``), with their class-level defaults;
- ``__repr__`` as ``Name(field=value, ...)``, ``__eq__`` and ``__hash__`` over the fields'
  tuple (equal only to the same class), ``__match_args__``;
- assigning or deleting an attribute raises :class:`dataclasses.FrozenInstanceError`.

Type checkers read it as a frozen dataclass (:func:`typing.dataclass_transform`). Defaults are
plain values (immutable ones: a shared default is shared by every instance); there are no
``field()`` specifiers, ``ClassVar`` or ``InitVar`` fields, or record subclasses. Use
:func:`replace` and :func:`fields` where :mod:`dataclasses` has functions of those names.
"""

from __future__ import annotations

import inspect
import reprlib
from collections.abc import Callable
from dataclasses import FrozenInstanceError
from typing import Any, TypeVar, dataclass_transform, overload

R = TypeVar("R")

_SPEC = "__record_spec__"


class _Spec:
    """A record class's fields, their defaults and how many may be given positionally."""

    __slots__ = ("defaults", "names", "positional", "qualname")

    def __init__(self, cls: type, kw_only: bool) -> None:
        self.names: tuple[str, ...] = tuple(inspect.get_annotations(cls))
        self.defaults: dict[str, Any] = {}
        for name in self.names:
            annotation = str(cls.__annotations__[name])
            if annotation.startswith(("ClassVar", "InitVar", "typing.ClassVar", "dataclasses.InitVar")):
                raise TypeError(f"record {cls.__qualname__}: {name} is {annotation}, which records do not take")
            if name in cls.__dict__:
                self.defaults[name] = cls.__dict__[name]
            elif self.defaults and not kw_only:
                raise TypeError(
                    f"record {cls.__qualname__}: field {name!r} without a default follows one with a default"
                )
        self.positional = 0 if kw_only else len(self.names)
        self.qualname = cls.__qualname__


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    spec: _Spec = getattr(type(self), _SPEC)
    if len(args) > spec.positional:
        takes, given = spec.positional + 1, len(args) + 1
        raise TypeError(f"{spec.qualname}.__init__() takes {takes} positional arguments but {given} were given")
    values = dict(zip(spec.names, args, strict=False))
    for name, value in kwargs.items():
        if name in values:
            raise TypeError(f"{spec.qualname}.__init__() got multiple values for argument {name!r}")
        if name not in spec.names:
            raise TypeError(f"{spec.qualname}.__init__() got an unexpected keyword argument {name!r}")
        values[name] = value
    own = self.__dict__
    missing = []
    for name in spec.names:
        if name in values:
            own[name] = values[name]
        elif name in spec.defaults:
            own[name] = spec.defaults[name]
        else:
            missing.append(name)
    if missing:
        raise TypeError(f"{spec.qualname}.__init__() missing required arguments: {', '.join(map(repr, missing))}")


def _values(record: Any) -> tuple[Any, ...]:
    own = record.__dict__
    return tuple(own[name] for name in getattr(type(record), _SPEC).names)


@reprlib.recursive_repr()
def _repr(self: Any) -> str:
    spec: _Spec = getattr(type(self), _SPEC)
    own = self.__dict__
    return f"{spec.qualname}({', '.join(f'{name}={own[name]!r}' for name in spec.names)})"


def _eq(self: Any, other: object) -> Any:
    if other.__class__ is self.__class__:
        return _values(self) == _values(other)
    return NotImplemented


def _hash(self: Any) -> int:
    return hash(_values(self))


def _setattr(self: Any, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _build(cls: type[R], kw_only: bool) -> type[R]:
    if any(hasattr(base, _SPEC) for base in cls.__mro__[1:]):
        raise TypeError(f"record {cls.__qualname__}: records cannot be subclassed")
    spec = _Spec(cls, kw_only)
    members: dict[str, Any] = {
        _SPEC: spec,
        "__init__": _init,
        "__repr__": _repr,
        "__eq__": _eq,
        "__hash__": _hash,
        "__setattr__": _setattr,
        "__delattr__": _delattr,
        "__match_args__": spec.names[: spec.positional],
    }
    for name, member in members.items():
        setattr(cls, name, member)
    return cls


@overload
def frozen(cls: type[R], /) -> type[R]: ...
@overload
def frozen(*, kw_only: bool = False) -> Callable[[type[R]], type[R]]: ...
@dataclass_transform(frozen_default=True)
def frozen(cls: type[R] | None = None, /, *, kw_only: bool = False) -> type[R] | Callable[[type[R]], type[R]]:
    """The frozen record class ``cls`` (see the module's docstring); ``@frozen`` or ``@frozen(kw_only=True)``."""
    if cls is None:
        return lambda inner: _build(inner, kw_only)
    return _build(cls, kw_only)


def fields(instance: object) -> tuple[str, ...]:
    """The names of ``instance``'s fields, in order."""
    spec: _Spec = getattr(type(instance), _SPEC)
    return spec.names


def replace(instance: R, /, **changes: Any) -> R:
    """A copy of the record ``instance`` with ``changes`` (field name to value); unknown names are refused."""
    values = dict(zip(fields(instance), _values(instance), strict=True))
    values.update(changes)
    return type(instance)(**values)
