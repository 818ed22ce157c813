"""ce_cli/cli/typer_adapters.py: options' converters built only when a value needs one, and then
giving exactly Typer's values and errors (the reference is Typer's own converter, built beside)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st

from ce_cli.cli import app
from ce_cli.cli.typer_adapters import DeferredConverter, defer_option_converters

adapters = pytest.importorskip("typer._adapters", reason="this Typer converts options without pydantic")


class NormalisingContext:
    """A context with a token normaliser, as ``context_settings={"token_normalize_func": ...}`` gives."""

    token_normalize_func = staticmethod(str.lower)


def every_option() -> list[tuple[str, Any, Any]]:
    """(command and option, annotation, parameter info) of every option of every command."""
    group = typer.main.get_command(app)
    found = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        for param in command.params:
            descriptor = getattr(param, "type_descriptor", None)
            if descriptor is not None and descriptor.file_annotation is None:
                found.append((f"{name} {param.name}", descriptor.annotation, descriptor.parameter_info))
    return found


OPTIONS = every_option()


def outcome(converter: Any, value: Any, context: Any) -> tuple[str, Any]:
    """What converting ``value`` gives: ("value", the value and its type) or the error's type and text."""
    try:
        result = converter.validate_python(value, context=context)
    except Exception as error:  # compared, whatever it is
        return type(error).__name__, str(error)
    return "value", (repr(result), type(result))  # repr: NaN equals NaN


values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-300, 300),
    st.floats(),
    st.text(max_size=6),
    st.sampled_from(["0", "-1", "1.5", "nan", "inf", "mean", "MEAN", "table", "json", "pytorch", "uniform", " "]),
    st.lists(st.sampled_from(["1", "a", "2.5"]), max_size=3).map(tuple),
)


def test_every_option_is_seen() -> None:
    kinds = {str(annotation) for _, annotation, _ in OPTIONS}
    assert len(OPTIONS) > 100
    assert {"<class 'int'>", "<class 'float'>", "<class 'str'>"} <= kinds
    assert any(kind.startswith("typing.Literal") for kind in kinds)


@settings(max_examples=60, deadline=None)
@given(value=values, normalising=st.booleans())
def test_deferred_converters_give_typer_s_values_and_errors(value: Any, normalising: bool) -> None:
    defer_option_converters()
    deferred, leaf = adapters.build_adapter, adapters.build_leaf_adapter
    context = {"ctx": NormalisingContext() if normalising else None, "param": None}
    for where, annotation, info in OPTIONS:
        ours = deferred(annotation, info)
        adapters.build_adapter, adapters.build_leaf_adapter = deferred.__wrapped__, leaf.__wrapped__  # Typer's own
        try:
            theirs = adapters.build_adapter(annotation, info)
        finally:
            adapters.build_adapter, adapters.build_leaf_adapter = deferred, leaf
        assert not isinstance(theirs, DeferredConverter)
        assert outcome(ours, value, context) == outcome(theirs, value, context), where


def test_left_out_and_default_values_build_no_converter() -> None:
    """The worked example with every option at its default builds no pydantic converter at all."""
    script = (
        "import sys\n"
        "import pydantic\n"
        "built = []\n"
        "original = pydantic.TypeAdapter.__init__\n"
        "def counting(self, *args, **kwargs):\n"
        "    built.append(args[0])\n"
        "    original(self, *args, **kwargs)\n"
        "pydantic.TypeAdapter.__init__ = counting\n"
        "from ce_cli.entry_point import main\n"
        "try:\n"
        "    main()\n"
        "finally:\n"
        "    print(len(built), file=sys.stderr)\n"
    )
    command = [sys.executable, "-c", script, "compute", "-l", "[[0.1234, 0.5555, 0.3211]]", "-t", "0", "-f", "json"]
    ran = subprocess.run(command, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert ran.stderr.splitlines()[-1] == "0"
    given_numbers = subprocess.run([*command, "--max-rows", "3", "--worst", "1"], capture_output=True, text=True)
    assert given_numbers.returncode == 0, given_numbers.stderr
    assert given_numbers.stderr.splitlines()[-1] != "0"  # text to turn into numbers goes through Typer's own


def test_the_converter_is_built_once_and_kept() -> None:
    calls: list[int] = []

    class Converter:
        def validate_python(self, value: Any, *, context: Any = None) -> Any:
            return int(value)

    def build() -> Converter:
        calls.append(1)
        return Converter()

    converter = DeferredConverter(build, lambda value, context: type(value) is int)
    assert converter.validate_python(3) == 3
    assert calls == []
    assert converter.validate_python("4") == 4
    assert converter.validate_python("5") == 5
    assert calls == [1]
