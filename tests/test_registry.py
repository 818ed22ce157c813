"""Every part of ce-loss names exactly the registered formulas and output formats, and reads them from one place."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ce_cli import FORMULAS, OptionError, records
from ce_cli.cli import app
from ce_cli.families.softmax import render as compute_writers
from ce_cli.families.softmax import render_explain as explain_writers
from ce_cli.formulas import REFERENCE, REGISTRY, formula_spec
from ce_cli.render import compare as compare_writers
from ce_cli.render import writer_for
from tests.conftest import EXAMPLES, Run

README = (Path(__file__).parent.parent / "README.md").read_text()
WORKED_FILES = ["-l", str(EXAMPLES / "worked_logits.csv"), "-t", str(EXAMPLES / "worked_targets.csv")]


def _flat(text: str) -> str:
    """Help or error text without its box drawing and line wrapping."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def _choices(run: Run, command: str, option: str) -> list[str]:
    """The values the command line accepts for ``option`` of ``command``, as its usage error lists them."""
    result = run(command, *WORKED_FILES, option, "no-such-choice")
    assert result.exit_code == 2
    listed = re.search(r"'no-such-choice' is not one of ((?:'\w+'(?:, )?)+)", _flat(result.stderr))
    assert listed is not None, result.stderr
    return re.findall(r"'(\w+)'", listed[1])


def test_formula_choices_are_the_registry(run: Run) -> None:
    assert _choices(run, "compute", "--formula") == list(FORMULAS) == list(REGISTRY)


@pytest.mark.parametrize(
    ("command", "writers"),
    [("compute", compute_writers.WRITERS), ("compare", compare_writers.WRITERS), ("explain", explain_writers.WRITERS)],
)
def test_format_choices_are_the_writer_tables(command: str, writers: dict[str, object], run: Run) -> None:
    assert _choices(run, command, "--format") == list(writers)


def test_compare_json_names_every_registered_formula(run: Run) -> None:
    out = json.loads(run("compare", *WORKED_FILES, "-f", "json").stdout)
    assert list(out["formulas"]) == list(FORMULAS)
    assert list(out["max_abs_diff"]) == [name for name in FORMULAS if name != REFERENCE]
    assert list(out["verdicts"]) == list(FORMULAS)


def test_readme_formula_table_names_every_registered_formula() -> None:
    formulas = (Path(__file__).parent.parent / "docs" / "formulas.md").read_text()
    section = formulas.split("## The three formulas", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"^\| `(\w+)`", section, flags=re.MULTILINE) == list(FORMULAS)


def test_help_names_every_formula_with_its_summary() -> None:
    wide = {"COLUMNS": "250", "TERMINAL_WIDTH": "250"}  # one line per option: help text and choices unwrapped
    line = next(
        ln for ln in CliRunner().invoke(app, ["compute", "--help"], env=wide).stdout.splitlines() if "--formula" in ln
    )
    assert re.search(r"--formula +NAME ", line)  # a short metavar: the choices are the help text, never split mid-word
    for spec in REGISTRY.values():
        assert f"{spec.name} ({spec.summary})" in line


def test_unknown_names_are_usage_errors_not_fallbacks() -> None:
    with pytest.raises(OptionError, match="unknown format 'xml'; choose one of table, json, csv, tsv"):
        writer_for(compute_writers.WRITERS, "xml")
    with pytest.raises(OptionError, match="unknown formula 'textbook'"):
        formula_spec("textbook")


def test_a_new_formula_appears_in_compare_and_explain_from_its_registry_entry(
    monkeypatch: pytest.MonkeyPatch, run: Run
) -> None:
    twin = records.replace(REGISTRY[REFERENCE], name="fused_twin", differs_because="a twin cannot differ")
    monkeypatch.setitem(REGISTRY, "fused_twin", twin)

    out = json.loads(run("compare", *WORKED_FILES, "-f", "json").stdout)
    assert list(out["formulas"]) == [*FORMULAS, "fused_twin"]
    assert out["formulas"]["fused_twin"] == out["formulas"][REFERENCE]
    assert out["max_abs_diff"]["fused_twin"] == 0.0
    assert out["verdicts"]["fused_twin"] == "agrees exactly"

    table = run("compare", *WORKED_FILES).stdout
    assert re.search(r"┃ fused_twin ┃", table)  # its diff column is left out: every difference is 0
    assert "fused_twin against cross_entropy: agrees exactly" in table
    assert re.search(r"│ fused_twin\s+│ 1\.11424248715295\d*\s+│", table)

    header = run("compare", *WORKED_FILES, "-f", "csv").stdout.splitlines()[0]
    assert header.endswith(",fused_twin,diff_log_softmax_nll,diff_naive,diff_fused_twin")

    explained = json.loads(run("explain", *WORKED_FILES, "-f", "json").stdout)
    assert explained["formulas"]["fused_twin"] == explained["loss"]
