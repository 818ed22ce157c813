"""The terminal experience: help, completion, widths and pipes, conflicts said, progress, Ctrl-C."""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import ce_cli
from ce_cli.cli import app
from tests.conftest import WORKED_INLINE, Run

SCRIPT = Path(sys.executable).parent / "ce-loss"
COMMANDS = ("compute", "compare", "explain")
LLM_LIKE = "2.5,-1.25,0.125,7.75,-3.5;0.5,0.25,-0.75,1.5,3.125;11.46207,0.001,-5,2,9.9"


def at_width(columns: int, *args: str) -> Any:
    """The CLI in-process with ``COLUMNS`` set (the output is not a terminal: a pipe of that width)."""
    env = {"COLUMNS": str(columns), "TERMINAL_WIDTH": str(columns)}
    return CliRunner().invoke(app, list(args), env=env)


# --- help ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [(), *((c,) for c in COMMANDS)])
def test_help_at_80_columns_has_short_flags_no_bool_metavar_and_whole_choices(command: tuple[str, ...]) -> None:
    short, long = at_width(80, *command, "-h"), at_width(80, *command, "--help")
    assert short.exit_code == long.exit_code == 0
    assert short.stdout == long.stdout
    assert "<bool>" not in short.stdout
    for line in short.stdout.splitlines():
        assert len(line) <= 80
        assert not re.search(r"<[a-z_|]+$", line.rstrip(" │")), f"a choice split mid-word: {line!r}"


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_help_ends_with_examples_and_groups_options(command: str) -> None:
    out = at_width(100, command, "--help-all" if command == "compute" else "--help").stdout
    assert out.rstrip().split("Examples:")[-1].count(f"$ ce-loss {command}") >= 2
    for panel in ("Inputs", "PyTorch options", "Output"):
        assert f"─ {panel} " in out


def test_compute_examples_cover_the_four_uses() -> None:
    out = at_width(120, "compute", "--help").stdout.split("Examples:")[1]
    assert "--logits logits.npy --targets targets.npy" in out  # a .npy pair
    assert "--target-column label" in out  # a CSV with a label column
    assert "--formula naive --eps auto" in out  # probabilities
    assert "-q)" in out  # a pipeline


def test_short_version_flag() -> None:
    short, long = at_width(80, "-V"), at_width(80, "--version")
    assert short.exit_code == 0
    assert short.stdout == long.stdout
    assert short.stdout.startswith(f"ce-loss {ce_cli.__version__}\nkernel: ")


# --- completion ---------------------------------------------------------------------------------------------


def _script(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False
    )


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_name_the_command(shell: str) -> None:
    result = _script("--show-completion", shell, env={"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
    assert result.returncode == 0, result.stderr
    assert "_CE_LOSS_COMPLETE" in result.stdout
    assert "ce-loss" in result.stdout


@pytest.mark.parametrize(
    ("shell", "env"),
    [
        ("bash", {"COMP_WORDS": "ce-loss com", "COMP_CWORD": "1"}),
        ("zsh", {"_TYPER_COMPLETE_ARGS": "ce-loss com"}),
        ("fish", {"_TYPER_COMPLETE_ARGS": "ce-loss com", "_TYPER_COMPLETE_FISH_ACTION": "get-args"}),
    ],
)
def test_completion_offers_the_commands(shell: str, env: dict[str, str]) -> None:
    result = _script(env={"_CE_LOSS_COMPLETE": f"complete_{shell}", **env})
    assert result.returncode == 0, result.stderr
    assert "compute" in result.stdout
    assert "compare" in result.stdout
    assert "explain" not in result.stdout


def test_completion_offers_options() -> None:
    env = {"_CE_LOSS_COMPLETE": "complete_bash", "COMP_WORDS": "ce-loss compute --for", "COMP_CWORD": "2"}
    assert _script(env=env).stdout.split() == ["--formula", "--format"]


# --- widths and pipes ---------------------------------------------------------------------------------------


def test_a_pipe_without_columns_gets_80_columns_without_trailing_spaces() -> None:
    result = CliRunner().invoke(app, ["compare", "-l", LLM_LIKE, "-t", "3,4,0"], env={"COLUMNS": None})
    assert result.exit_code == 0
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert all(line == line.rstrip() for line in lines)
    assert max(len(line) for line in lines) <= 80  # as ls, git and Rich lay out text for a pipe
    assert "…" not in result.stdout


@pytest.mark.parametrize("command", [("compare",), ("explain", "--sample", "2"), ("compute",)])
def test_numbers_are_never_cut_at_80_columns(command: tuple[str, ...]) -> None:
    result = at_width(80, *command, "-l", LLM_LIKE, "-t", "3,4,0")
    assert result.exit_code == 0
    assert "…" not in result.stdout
    lines = result.stdout.splitlines()
    assert all(line == line.rstrip() for line in lines)
    assert max(len(line) for line in lines) <= 80  # the teaching tables fit, with no note on stderr
    assert "a table needs" not in result.stderr
    for line, following in itertools.pairwise(lines):  # no number broken over two lines
        assert not (re.search(r"\d$", line) and re.match(r"^[\d.]", following)), (line, following)
    if command[0] == "compute":  # the loss table keeps every digit the wide one has
        wide = at_width(400, *command, "-l", LLM_LIKE, "-t", "3,4,0").stdout
        numbers = set(re.findall(r"-?\d+\.\d+(?:e-?\d+)?", wide))
        assert numbers <= set(re.findall(r"-?\d+\.\d+(?:e-?\d+)?", result.stdout))


def test_the_summary_keeps_the_full_mean_at_30_columns() -> None:
    mean = json.loads(at_width(200, "compute", "-l", WORKED_INLINE, "-t", "0,1,2", "-f", "json").stdout)["mean"]
    result = at_width(30, "compute", "-l", WORKED_INLINE, "-t", "0,1,2", "--no-warnings")
    assert result.exit_code == 0
    assert repr(mean) in result.stdout
    assert "…" not in result.stdout


# --- conflicts and surprises, said ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "csv", "tsv"])
def test_quiet_with_a_format_is_a_usage_error(run: Run, fmt: str) -> None:
    result = run("compute", "-l", WORKED_INLINE, "-t", "0,1,2", "-q", "-f", fmt)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"ce-loss: error: -q prints the headline value alone, and -f {fmt} the whole result: give one of them\n"
    )


def test_positional_files_are_pointed_to_the_options(run: Run) -> None:
    result = run("compute", "logits.csv", "targets.csv")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(
        "ce-loss: error: ce-loss reads files given with --logits and --targets, not as positional arguments "
        "('logits.csv' 'targets.csv'): pass them as --logits FILE --targets FILE"
    )
    assert len(result.stderr.splitlines()) == 1


class TerminalStdin(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_reading_stdin_from_a_terminal_is_said(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    from ce_cli.cli.arguments import say_when_reading_a_terminal
    from ce_cli.io.inputs import InputSpec

    monkeypatch.setattr(sys, "stdin", TerminalStdin())
    say_when_reading_a_terminal(InputSpec(logits="-", targets="0"))
    assert capsys.readouterr().err == "ce-loss: reading logits from stdin (a terminal): type the rows, then Ctrl-D\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO())  # a pipe or a file: nothing to say
    say_when_reading_a_terminal(InputSpec(logits="-", targets="0"))
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("rows.jsonl", "is JSON Lines, which ce-loss does not read; convert it, e.g. --logprobs x.jsonl"),
        ("model.pkl", "is a pickle (ce-loss never unpickles), which ce-loss does not read"),
        ("scores.csv.gz", "is compressed (.gz), which ce-loss does not read; decompress it into a pipe: gunzip -c"),
    ],
)
def test_formats_ce_loss_does_not_read_are_named_with_their_conversion(
    run: Run, tmp_path: Path, name: str, says: str
) -> None:
    (tmp_path / name).write_bytes(b"PK\x03\x04 not really")
    result = run("compute", "-l", str(tmp_path / name), "-t", "0")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert says in result.stderr
    assert len(result.stderr.splitlines()) == 1


# --- progress and Ctrl-C ------------------------------------------------------------------------------------------


def test_compare_progress_counts_rows_not_rows_times_formulas() -> None:
    from ce_cli.families.softmax.comparison import compare_formulas
    from ce_cli.families.softmax.inputs import validate_inputs

    x = np.random.default_rng(0).standard_normal((30_000, 5))
    done: list[int] = []
    compare_formulas(validate_inputs(x, np.zeros(30_000, dtype=int)), progress=done.append)
    assert done == sorted(done)
    assert done[-1] == 30_000


class TerminalStream(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_bar_labels_the_time_left_and_clears_on_ctrl_c() -> None:
    from ce_cli.progress import ProgressBar

    stream = TerminalStream()
    bar = ProgressBar(100, stream)
    bar.started -= ProgressBar.DELAY  # as if a second had passed
    bar.update(40)
    assert "time left" in stream.getvalue()

    def interrupted() -> None:
        with bar:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted()
    assert bar._progress is not None
    assert not bar._progress.live.is_started  # stopped, and transient: the bar's line is cleared
    assert stream.getvalue().endswith("\x1b[2K")


def _wait_until_reading_stdin(pid: int, limit: float = 30.0) -> None:
    """Until the process blocks reading its stdin pipe (Linux's /proc says where it waits): past its start-up,
    so that Ctrl-C reaches the command, not the imports. Elsewhere, a few seconds."""
    wchan = Path(f"/proc/{pid}/wchan")
    if not wchan.exists():
        time.sleep(3.0)
        return
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if "pipe" in wchan.read_text():
            time.sleep(0.2)
            return
        time.sleep(0.05)
    raise AssertionError("ce-loss never started reading its stdin")


def test_ctrl_c_says_interrupted_exits_130_and_leaves_no_output(tmp_path: Path) -> None:
    output = tmp_path / "losses.npy"
    process = subprocess.Popen(
        [str(SCRIPT), "compute", "--logits", "-", "--targets", "0", "-o", str(output)],
        stdin=subprocess.PIPE,  # never closed: ce-loss waits for the rest of its logits
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _wait_until_reading_stdin(process.pid)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert out == b""
    assert err == b"ce-loss: interrupted\n"
    assert not output.exists()


# --- the Quick start ----------------------------------------------------------------------------------------


def test_quick_start_puts_the_venv_first_and_explains_the_first_run() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("## Install and Quick start", 1)[1].split("\n## ", 1)[0]
    before, block, after = section.split("```", 2)
    assert "python3 -m venv .venv" in before  # the virtual environment comes first
    assert "examples/overconfident.npy" in block
    assert "2.2942186740434614" in after


def test_one_number_format_per_column(run: Run) -> None:
    result = run("compute", "-l", "20,0,0;0,0,0;1,2,3", "-t", "0,1,2", "--no-warnings")
    assert result.exit_code == 0
    rows = [line.split("│") for line in result.stdout.splitlines() if re.match(r"│\s+\d", line)]
    losses = [cells[5].strip() for cells in rows]
    probabilities = [cells[4].strip() for cells in rows]
    assert losses == ["4.122307e-09", "1.098612e+00", "4.076060e-01"]  # one tiny loss: the column is scientific
    assert probabilities == ["1.000000", "0.333333", "0.665241"]


def test_explain_spells_each_column_one_way(run: Run) -> None:
    result = run("explain", "-l", "30,0,-1e-7,5", "-t", "1")
    assert result.exit_code == 0
    rows = [line.split("│")[1:-1] for line in result.stdout.split("steps")[0].splitlines() if line.startswith("│")]
    for column in zip(*rows, strict=True):
        cells = [cell.strip() for cell in column if cell.strip()]
        kinds = {"e" in cell for cell in cells}
        assert len(kinds) == 1, column  # a column is scientific throughout, or plain throughout
