"""ce_cli.records.frozen behaves as ``@dataclass(frozen=True)``: each check runs a record class
and its dataclass twin (the reference is the standard library) and compares what they do."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ce_cli import records
from ce_cli.records import frozen


@frozen
class Point:
    """A record with a default."""

    name: str
    size: int
    tags: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class PointTwin:
    """The same fields as a frozen dataclass."""

    name: str
    size: int
    tags: tuple[str, ...] = ()


@frozen(kw_only=True)
class Options:
    """A keyword-only record."""

    first: int
    second: str = "b"


@dataclasses.dataclass(frozen=True, kw_only=True)
class OptionsTwin:
    """The same as a keyword-only frozen dataclass."""

    first: int
    second: str = "b"


def outcome(call: Any) -> tuple[str, str]:
    """What ``call()`` gives: its repr, or its exception's type and message without the class name."""
    try:
        result = call()
    except (TypeError, AttributeError) as error:
        return type(error).__name__, str(error).replace("Twin", "")
    return "value", repr(result).replace("Twin", "")


values = st.one_of(st.integers(), st.text(max_size=5), st.floats(allow_nan=False), st.tuples(st.text(max_size=3)))


@given(name=values, size=values, tags=values)
def test_repr_eq_and_hash_are_the_dataclass_ones(name: Any, size: Any, tags: Any) -> None:
    ours, twin = Point(name, size, tags), PointTwin(name, size, tags)
    assert repr(ours) == repr(twin).replace("PointTwin", "Point")
    assert ours == Point(name, size, tags)
    assert hash(ours) == hash(twin)
    assert ours != twin  # type: ignore[comparison-overlap]  # equal only to its own class, as a dataclass
    other = ("other",) if tags != ("other",) else ()
    assert ours != Point(name, size, other)


@pytest.mark.parametrize(
    "arguments",
    [
        ((), {}),
        (("a",), {}),
        (("a", 1), {}),
        (("a", 1, ("t",)), {}),
        (("a", 1, (), 4), {}),
        (("a",), {"size": 2}),
        (("a",), {"name": "b", "size": 2}),
        ((), {"name": "a", "size": 1, "colour": 3}),
        ((), {"size": 1, "tags": ("t",)}),
    ],
)
def test_init_takes_and_refuses_what_the_dataclass_does(arguments: tuple[tuple[Any, ...], dict[str, Any]]) -> None:
    args, kwargs = arguments
    ours = outcome(lambda: Point(*args, **kwargs))
    twin = outcome(lambda: PointTwin(*args, **kwargs))
    assert ours[0] == twin[0]
    if ours[0] == "value":
        assert ours == twin
    else:  # the same kind of refusal, naming the same argument
        assert re.findall(r"'(\w+)'", ours[1]) == re.findall(r"'(\w+)'", twin[1])


def test_keyword_only_records_refuse_positions_as_the_dataclass_does() -> None:
    assert outcome(lambda: Options(first=1)) == outcome(lambda: OptionsTwin(first=1))
    assert outcome(lambda: Options(1))[0] == outcome(lambda: OptionsTwin(1))[0] == "TypeError"  # type: ignore[call-arg]
    assert Options.__match_args__ == OptionsTwin.__match_args__ == ()
    assert Point.__match_args__ == PointTwin.__match_args__ == ("name", "size", "tags")


def test_fields_cannot_be_assigned_or_deleted() -> None:
    point = Point("a", 1)
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'size'"):
        point.size = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'size'"):
        del point.size
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.other = 2  # type: ignore[attr-defined]
    assert point.size == 1


def test_replace_fields_copy_and_pickle() -> None:
    point = Point("a", 1, ("t",))
    assert records.replace(point, size=5) == Point("a", 5, ("t",))
    assert point.size == 1
    with pytest.raises(TypeError, match="colour"):
        records.replace(point, colour=1)
    assert records.fields(point) == tuple(field.name for field in dataclasses.fields(PointTwin))
    assert pickle.loads(pickle.dumps(point)) == point
    assert copy.deepcopy(point) == point
    assert copy.copy(point) is not point


def test_match_statements_bind_fields_in_order() -> None:
    match Point("a", 1):
        case Point(name, size):
            assert (name, size) == ("a", 1)
        case _:
            pytest.fail("the record did not match its own class")


def test_a_recursive_record_repr_stops() -> None:
    holder: list[Any] = []
    point = Point("a", 1, holder)  # type: ignore[arg-type]
    holder.append(point)
    assert repr(point) == "Point(name='a', size=1, tags=[...])"


def test_what_records_do_not_take_is_refused() -> None:
    with pytest.raises(TypeError, match="without a default"):

        @frozen
        class Misordered:
            first: int = 1
            second: int  # type: ignore[misc]

    with pytest.raises(TypeError, match="subclassed"):

        @frozen
        class Child(Point):
            extra: int = 0
