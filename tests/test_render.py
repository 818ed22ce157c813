"""Renderers lay out what a result carries: they never read the input again."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from ce_cli import records
from ce_cli.families.softmax import render as compute_writers
from ce_cli.families.softmax.inputs import validate_inputs
from ce_cli.families.softmax.report import Report, build_report
from ce_cli.formulas import REGISTRY
from ce_cli.render import RenderOptions
from tests.conftest import Run


def _report() -> Report:
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((40, 5))
    targets = rng.integers(0, 5, 40)
    targets[7] = -100
    return build_report(validate_inputs(logits, targets), REGISTRY["cross_entropy"])


def _without_logits(report: Report) -> Report:
    """The same report, its logits replaced by NaN: a writer that read them would print other numbers."""
    rows = np.broadcast_to(np.float64(np.nan), report.inputs.rows.shape)
    return records.replace(report, inputs=records.replace(report.inputs, rows=rows))


@pytest.mark.parametrize("name", list(compute_writers.WRITERS))
def test_writers_need_nothing_but_the_report(name: str) -> None:
    report = _report()
    write = compute_writers.WRITERS[name]
    outputs = []
    for version in (report, _without_logits(report)):
        stream = io.StringIO()
        write(version, stream, RenderOptions(max_rows=6))
        outputs.append(stream.getvalue())
    assert outputs[0] == outputs[1]
    assert outputs[0].count("NaN") == (1 if name in ("csv", "tsv") else 0)  # p_target of the ignored sample


@pytest.mark.parametrize("suffix", list(compute_writers.LOSSES_FILE_ENCODERS))
def test_losses_files_need_nothing_but_the_report(suffix: str) -> None:
    report = _report()
    encode = compute_writers.LOSSES_FILE_ENCODERS[suffix]
    files = []
    for version in (report, _without_logits(report)):
        stream = io.BytesIO()
        encode(version, RenderOptions(), stream)
        files.append(stream.getvalue())
    assert files[0] == files[1]
    assert len(files[0]) > 100


def test_the_predicted_class_comes_from_the_evaluation() -> None:
    report = _report()
    logits = np.random.default_rng(3).standard_normal((40, 5))
    np.testing.assert_array_equal(report.predicted, np.argmax(logits, axis=1))


TABLE_SCRIPT = """
import io, resource
import numpy as np
from ce_cli.families.softmax.comparison import compare_formulas
from ce_cli.render import RenderOptions
from ce_cli.render.compare import write_table
from ce_cli.families.softmax.inputs import validate_inputs
rng = np.random.default_rng(0)
comparison = compare_formulas(validate_inputs(rng.random((2_000_000, 2)) + 0.01, rng.integers(0, 2, 2_000_000)))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
stream = io.StringIO()
write_table(comparison, stream, RenderOptions(max_rows=20))
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024, stream.getvalue().count("(1999980 more)"))
"""


def test_a_compare_table_of_20_rows_makes_text_of_20_rows_only() -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", TABLE_SCRIPT], capture_output=True, text=True, check=True).stdout
    growth_mib, elided = (int(v) for v in out.split())
    assert elided == 1
    assert growth_mib < 30  # lists of 2,000,000 Python floats per column took hundreds of MiB


def test_a_sample_named_like_an_emoji_code_keeps_its_name(run: Run, tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("id,a,b\n:thumbs_up:,1.0,2.0\n:x:,0.5,0.1\n")
    result = run("compute", "-l", str(tmp_path / "x.csv"), "-t", "1,0", "--id-column", "id")
    assert result.exit_code == 0, result.stderr
    assert ":thumbs_up:" in result.stdout
    assert ":x:" in result.stdout
