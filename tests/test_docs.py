"""The README's and docs' commands and the bundled examples run, and print what the pages say; the pages keep
the README short and in a newcomer's order, and do not contradict each other."""

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
DOCS = {path.name: path.read_text() for path in sorted((ROOT / "docs").glob("*.md"))}
PAGES = {"README.md": README, **DOCS}


def shell(command: str) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in the repository with this interpreter's scripts first on PATH (and no ``COLUMNS``:
    tables to a pipe take their own width, as the README shows them)."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("COLUMNS", None)
    return subprocess.run(["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, env=env, check=False)


def console_examples() -> list[tuple[str, str]]:
    """``(command, expected stdout)`` for every ``$ `` line of the console blocks of the README and docs/."""
    examples = []
    for block in re.findall(r"```console\n(.*?)```", "\n".join(PAGES.values()), flags=re.DOTALL):
        parts = re.split(r"^\$ ", block, flags=re.MULTILINE)[1:]
        for part in parts:
            command, _, output = part.partition("\n")
            examples.append((command, output))
    return examples


def table_commands() -> list[str]:
    """The runnable example of every row of the reference's input table."""
    inputs = DOCS["reference.md"].split("## Inputs", 1)[1].split("\n## ", 1)[0]
    return [cmd.replace("\\|", "|") for cmd in re.findall(r"\| `((?:cat .*?\\\| )?ce-loss .*?)` \|$", inputs, re.M)]


def quick_start() -> list[str]:
    """The Quick start's commands: the first fenced block after its heading."""
    section = README.split("Quick start", 1)[1]
    block = re.search(r"```\w*\n(.*?)```", section, flags=re.DOTALL)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_quick_start_is_one_block_of_two_commands() -> None:
    commands = quick_start()
    assert len(commands) == 2
    assert "examples/" in commands[0]
    assert commands[1].endswith("pytest")


def test_the_quick_starts_first_run_is_clean() -> None:
    """Its first command scores logits and says nothing on stderr: no warning on a newcomer's first run."""
    command = quick_start()[0].split("&&", 1)[1].strip()
    result = shell(command)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "2.2942186740434614" in result.stdout


def test_the_readme_is_short_and_in_a_newcomers_order() -> None:
    assert len(README.splitlines()) <= 250
    headings = re.findall(r"^## (.*)$", README, flags=re.MULTILINE)
    assert headings == [
        "Install and Quick start",
        "The ten most common jobs",
        'The worked example: why the textbook formula "disagrees" with PyTorch',
        "Links",
    ]
    intro = README.split("\n## ", 1)[0].split("\n", 1)[1]
    assert len(re.findall(r"[.!?](?:\s|$)", intro)) == 3  # what ce-loss is, in three sentences
    for number in ("1.114242487152951", "1.272071171766657", "3.816213515299971", "3.8162", "11.4486"):
        assert number in README
    for page in DOCS:
        assert f"(docs/{page})" in README


def test_the_ten_jobs_run() -> None:
    block = README.split("## The ten most common jobs", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line.strip()]
    assert len(commands) == 10
    for command in commands:
        result = shell(command + " --no-warnings")
        assert result.returncode == 0, (command, result.stderr)
        assert result.stdout


@pytest.mark.parametrize("page", list(PAGES))
def test_no_page_says_a_feature_is_missing(page: str) -> None:
    """Nothing promised for later: a page that says "not yet" contradicts the pages that document it."""
    assert "not yet" not in PAGES[page].lower()


def test_docs_link_to_pages_that_exist() -> None:
    for name, text in PAGES.items():
        for target in re.findall(r"\]\(([^)#]+\.md)\)", text):
            base = ROOT if name == "README.md" else ROOT / "docs"
            assert (base / target).resolve().exists(), (name, target)


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
