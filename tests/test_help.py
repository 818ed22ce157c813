"""Help that fits a screen: ``compute --help`` in 60 lines at 80 columns (``--help-all``: every option), a usage
line without the hidden positional argument, no line ending in spaces, and examples of the less obvious uses."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from ce_cli.cli import app

COMMANDS = ("compute", "compare", "explain", "diff", "pool")


def at_80(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "80", "TERMINAL_WIDTH": "80"})
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return result


def test_compute_help_fits_a_screen_and_help_all_shows_every_option() -> None:
    short, every = at_80("compute", "--help").stdout, at_80("compute", "--help-all").stdout
    assert len(short.splitlines()) <= 60
    for flag in ("--logits", "--targets", "--target-column", "--task", "--format", "--calibration", "--help-all"):
        assert flag in short
    for flag in ("--label-smoothing", "--teacher", "--logprobs", "--bins", "--max-rows"):
        assert flag not in short
        assert flag in every
    assert "─ PyTorch options " in every  # every option in its panel
    assert "glob" in short  # shards are named where the inputs are


@pytest.mark.parametrize("command", COMMANDS)
def test_usage_has_no_empty_argument_and_no_line_ends_in_spaces(command: str) -> None:
    for flag in ("--help", "--help-all") if command in ("compute", "diff") else ("--help",):
        out = at_80(command, flag).stdout
        usage = next(line for line in out.splitlines() if "Usage:" in line)
        assert usage.rstrip().endswith(f"{command} [OPTIONS]")
        assert "[]" not in out
        assert all(line == line.rstrip(" ") for line in out.splitlines())
        assert all(len(line) <= 80 for line in out.splitlines())


@pytest.mark.parametrize(
    ("command", "uses"),
    [
        ("compute", ("'shards/x-*.npy'", "--class-axis -1", "--task binary")),
        ("compare", ("--task binary",)),
        ("explain", ("--class-axis -1",)),
        ("diff", ("'new/part-*.npy'",)),
        ("pool", ("cat day-*.json | ce-loss pool -",)),
    ],
)
def test_each_command_shows_a_less_obvious_use(command: str, uses: tuple[str, ...]) -> None:
    examples = " ".join(at_80(command, "--help").stdout.split("Examples:")[1].split())
    for use in uses:
        assert use in examples


def test_the_reference_lists_every_option_of_every_command() -> None:
    from pathlib import Path

    from typer.main import get_command

    reference = (Path(__file__).parent.parent / "docs" / "reference.md").read_text()
    group: Any = get_command(app)
    for name, command in group.commands.items():
        section = reference.split(f"### `ce-loss {name}`", 1)[1].split("\n### ", 1)[0]
        for param in command.params:
            if getattr(param, "hidden", False) or getattr(param, "param_type_name", "") != "option":
                continue
            for flag in param.opts:
                assert f"`{flag}`" in section, (name, flag)
