"""ce_cli/cli/typer_adapters.py: options' converters built, and pydantic imported, only when a value needs
converting, and then giving exactly Typer's values and errors (the reference is Typer's own runtime
parameter, built beside)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from typing import Any

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st

from ce_cli.cli import app
from ce_cli.cli.typer_adapters import defer_option_converters, deferred_class

core = pytest.importorskip("typer.core")
if not hasattr(core, "build_runtime_param"):
    pytest.skip("this Typer converts options without runtime parameters", allow_module_level=True)


class NormalisingContext:
    """A context with a token normaliser, as ``context_settings={"token_normalize_func": ...}`` gives."""

    token_normalize_func = staticmethod(str.lower)


def every_option() -> list[tuple[str, Any]]:
    """(command and option, type descriptor) of every option of every command but the files."""
    group = typer.main.get_command(app)
    found = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        for param in command.params:
            descriptor = getattr(param, "type_descriptor", None)
            if descriptor is not None and descriptor.file_annotation is None:
                found.append((f"{name} {param.name}", descriptor))
    return found


OPTIONS = every_option()


def outcome(runtime_param: Any, value: Any, context: Any) -> tuple[str, Any]:
    """What converting ``value`` gives: ("value", the value and its type) or the error's type and text."""
    try:
        result = runtime_param._coerce_value(value, param=None, ctx=context)
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
    kinds = {str(descriptor.annotation) for _, descriptor in OPTIONS}
    assert len(OPTIONS) > 100
    assert {"<class 'int'>", "<class 'float'>", "<class 'str'>"} <= kinds
    assert any(kind.startswith("typing.Literal") for kind in kinds)


@settings(max_examples=60, deadline=None)
@given(value=values, normalising=st.booleans())
def test_deferred_converters_give_typer_s_values_and_errors(value: Any, normalising: bool) -> None:
    defer_option_converters()
    deferred = core.build_runtime_param
    assert deferred.deferred_by_ce_loss
    context = NormalisingContext() if normalising else None
    for where, descriptor in OPTIONS:
        ours, theirs = deferred(descriptor), deferred.__wrapped__(descriptor)  # Typer's own
        assert type(theirs).__name__ != "DeferredRuntimeParam"
        assert outcome(ours, value, context) == outcome(theirs, value, context), where


def test_deferring_twice_wraps_once() -> None:
    defer_option_converters()
    once = core.build_runtime_param
    defer_option_converters()
    assert core.build_runtime_param is once
    assert not getattr(once.__wrapped__, "deferred_by_ce_loss", False)


def _pydantic_imported(*args: str) -> bool:
    """Whether a ``ce-loss`` run with ``args`` (which must succeed) imported pydantic."""
    script = (
        "import sys\n"
        "from ce_cli.entry_point import main\n"
        "try:\n"
        "    main()\n"
        "finally:\n"
        "    print('pydantic' in sys.modules, file=sys.stderr)\n"
    )
    ran = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    return {"True": True, "False": False}[ran.stderr.splitlines()[-1]]


def test_left_out_and_default_values_import_no_pydantic() -> None:
    """The worked example with every option at its default builds no converter and imports no pydantic
    (about 60 ms of a run); text to turn into numbers goes through Typer's own converters."""
    command = ["compute", "-l", "[[0.1234, 0.5555, 0.3211]]", "-t", "0", "-f", "json"]
    assert not _pydantic_imported(*command)
    assert _pydantic_imported(*command, "--max-rows", "3", "--worst", "1")


def test_the_converter_is_built_once_and_kept() -> None:
    calls: list[int] = []

    @dataclasses.dataclass(frozen=True)
    class RuntimeParam:  # Typer's base's fields
        parameter_info: Any
        annotation: Any

    class Converter:
        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            return int(value)

    def build() -> Converter:
        calls.append(1)
        return Converter()

    deferred = deferred_class(RuntimeParam)(None, int, build=build, unchanged=lambda value, context: type(value) is int)
    assert deferred._coerce_value(3, None, None) == 3
    assert calls == []
    assert deferred._coerce_value("4", None, None) == 4
    assert deferred._coerce_value("5", None, None) == 5
    assert calls == [1]
