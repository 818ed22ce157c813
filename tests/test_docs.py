"""The README's commands and the bundled examples run, and print what the README says."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ce_cli.io.sources import SUFFIXES

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()


def shell(command: str) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in the repository with this interpreter's scripts first on PATH (and no ``COLUMNS``:
    tables to a pipe take their own width, as the README shows them)."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("COLUMNS", None)
    return subprocess.run(["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, env=env, check=False)


def console_examples() -> list[tuple[str, str]]:
    """``(command, expected stdout)`` for every ``$ `` line of the README's console blocks."""
    examples = []
    for block in re.findall(r"```console\n(.*?)```", README, flags=re.DOTALL):
        parts = re.split(r"^\$ ", block, flags=re.MULTILINE)[1:]
        for part in parts:
            command, _, output = part.partition("\n")
            examples.append((command, output))
    return examples


def table_commands() -> list[str]:
    """The runnable example of every row of the README's input table."""
    inputs = README.split("## Inputs", 1)[1].split("\n## ", 1)[0]
    return [cmd.replace("\\|", "|") for cmd in re.findall(r"\| `((?:cat .*?\\\| )?ce-loss .*?)` \|$", inputs, re.M)]


def test_quick_start_is_one_block_of_two_commands() -> None:
    section = README.split("## Quick start", 1)[1]
    block = re.match(r"\s*```\w*\n(.*?)```", section, flags=re.DOTALL)
    assert block is not None
    commands = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(commands) == 2
    assert "examples/" in commands[0]
    assert commands[1].endswith("pytest")


@pytest.mark.exact_output
@pytest.mark.parametrize(("command", "expected"), console_examples())
def test_readme_console_examples(command: str, expected: str) -> None:
    result = shell(command)
    assert result.returncode == 0, result.stderr

    assert result.stdout == expected  # character for character: no line of a table ends in spaces


def _pyarrow_imports() -> bool:
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:  # pyarrow's newest wheels refuse the numpy 1.26 the lowest-versions run pins
        return False
    return True


def test_readme_input_table_has_a_runnable_example_per_form() -> None:
    commands = table_commands()
    everything = " ".join(commands)
    for suffix in SUFFIXES:  # every file format the readers know by name
        assert re.search(rf"examples/\S+{re.escape(suffix)}\b", everything), suffix
    for form in ("--logits - ", '--logits "0.1234,', '--logits "[[', "--target-column "):  # stdin, inline, JSON
        assert form in everything, form
    for command in commands:
        if ".parquet" in command and not _pyarrow_imports():  # the lowest-versions run: numpy 1.26
            continue
        if ".pt" in command and importlib.util.find_spec("torch") is None:  # CI runs it where torch is installed
            continue
        result = shell(command + " --format json --no-warnings")
        assert result.returncode == 0, (command, result.stderr)
        formula = re.search(r"--formula (\w+)", command)
        if "--logprobs" in command:  # log-probabilities: no formula, the perplexities
            assert result.stdout.startswith('{"task": "logprobs"')
            continue
        assert result.stdout.startswith(f'{{"formula": "{formula[1] if formula else "cross_entropy"}"')


@pytest.mark.exact_output
def test_pipeline_example() -> None:
    result = shell("bash examples/pipeline.sh")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("worked_logits.npy\t1.11424248")
    assert lines[1:] == [
        "cross_entropy\t1.114242487152951",
        "log_softmax_nll\t1.114242487152951",
        "naive\t1.272071171766657",
    ]
