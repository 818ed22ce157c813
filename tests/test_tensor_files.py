"""safetensors, ``.pt`` and Parquet inputs, written by the real writers and checked against the arrays written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import ce_cli
from tests.conftest import Run


def _pyarrow_imports() -> bool:
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:  # the lowest-versions run pins numpy 1.26, which pyarrow's newest wheels refuse
        return False
    return True


needs_pyarrow = pytest.mark.skipif(not _pyarrow_imports(), reason="pyarrow does not import beside this numpy")
LOGITS = np.array([[0.1234, 0.5555, 0.3211], [2.0, -1.0, 0.5], [0.0, 0.0, 3.0]], dtype=np.float32)
TARGETS = np.array([0, 1, 2])
EXPECTED = ce_cli.cross_entropy(LOGITS, TARGETS, reduction="none")


def _losses(run: Run, *args: str) -> np.ndarray:
    result = run("compute", *args, "-f", "json", "--no-warnings")
    assert result.exit_code == 0, result.stderr
    return np.array(json.loads(result.stdout)["losses"])


def test_safetensors_by_key_and_bfloat16_exactly(run: Run, tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    bf16_bits = (LOGITS.view(np.uint32) >> 16).astype(np.uint16)  # bfloat16: float32's upper half
    save_file({"logits": LOGITS, "other": np.zeros(2, np.float64)}, str(tmp_path / "m.safetensors"))
    np.testing.assert_array_equal(_losses(run, "-l", f"{tmp_path}/m.safetensors:logits", "-t", "0,1,2"), EXPECTED)
    # a bfloat16 tensor, written byte for byte as the format specifies (numpy has no bfloat16 to hand safetensors)
    header = json.dumps({"x": {"dtype": "BF16", "shape": [3, 3], "data_offsets": [0, 18]}}).encode()
    (tmp_path / "b.safetensors").write_bytes(len(header).to_bytes(8, "little") + header + bf16_bits.tobytes())
    widened = (bf16_bits.astype(np.uint32) << 16).view(np.float32)
    expected = ce_cli.cross_entropy(widened, TARGETS, reduction="none")
    np.testing.assert_array_equal(_losses(run, "-l", str(tmp_path / "b.safetensors"), "-t", "0,1,2"), expected)


@pytest.mark.parametrize(
    ("src", "words"),
    [
        ("m.safetensors:missing", "has no tensor 'missing'; it has logits, other"),
        ("m.safetensors", "holds 2 tensors; name one"),
        ("cut.safetensors:logits", "truncated"),
    ],
)
def test_safetensors_errors_say_what_is_there(run: Run, tmp_path: Path, src: str, words: str) -> None:
    from safetensors.numpy import save_file

    save_file({"logits": LOGITS, "other": np.zeros(2, np.float64)}, str(tmp_path / "m.safetensors"))
    (tmp_path / "cut.safetensors").write_bytes((tmp_path / "m.safetensors").read_bytes()[:-8])
    result = run("compute", "-l", str(tmp_path / src), "-t", "0,1,2")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert words in result.stderr


@needs_pyarrow
def test_parquet_list_column_and_numeric_columns_with_a_target_column(run: Run, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = pa.table({"id": ["a", "b", "c"], "logits": [list(map(float, r)) for r in LOGITS], "label": TARGETS})
    pq.write_table(rows, tmp_path / "rows.parquet")
    got = _losses(run, "-l", f"{tmp_path}/rows.parquet:logits", "-t", "0,1,2")
    np.testing.assert_allclose(got, EXPECTED, rtol=1e-15)
    wide = pa.table({"c0": LOGITS[:, 0], "c1": LOGITS[:, 1], "c2": LOGITS[:, 2], "label": TARGETS})
    pq.write_table(wide, tmp_path / "wide.parquet")
    np.testing.assert_allclose(
        _losses(run, "-l", str(tmp_path / "wide.parquet"), "--target-column", "label"), EXPECTED, rtol=1e-15
    )
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    result = run("compute", "-l", str(broken), "-t", "0")
    assert result.exit_code == 1
    assert "cannot be read as Parquet" in result.stderr


def test_pt_files_with_nested_keys_and_never_an_unpickle(run: Run, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed (CI installs it to test this reader)")
    torch.save({"out": {"logits": torch.from_numpy(LOGITS).to(torch.bfloat16)}, "step": 3}, tmp_path / "m.pt")
    widened = torch.from_numpy(LOGITS).to(torch.bfloat16).float().numpy()
    expected = ce_cli.cross_entropy(widened, TARGETS, reduction="none")
    np.testing.assert_array_equal(_losses(run, "-l", f"{tmp_path}/m.pt:out.logits", "-t", "0,1,2"), expected)
    whole = run("compute", "-l", str(tmp_path / "m.pt"), "-t", "0,1,2")
    assert whole.exit_code == 1
    assert "is a dict; name a tensor in it (out, step)" in whole.stderr
    missing = run("compute", "-l", f"{tmp_path}/m.pt:out.scores", "-t", "0,1,2")
    assert "has no key 'scores'" in missing.stderr
    marker = tmp_path / "created"

    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str, str]]:
            return (open, (str(marker), "w"))

    torch.save({"x": Evil()}, tmp_path / "evil.pt")
    result = run("compute", "-l", f"{tmp_path}/evil.pt:x", "-t", "0")
    assert result.exit_code == 1
    assert "weights_only=True" in result.stderr
    assert not marker.exists()


def test_without_torch_a_pt_file_says_what_to_install(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    real_import = builtins.__import__

    def no_torch(name: str, *args: object, **kwargs: object) -> object:
        if name == "torch":
            raise ImportError("no torch here")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_torch)
    (tmp_path / "m.pt").write_bytes(b"PK\x03\x04")
    result = run("compute", "-l", str(tmp_path / "m.pt"), "-t", "0")
    assert result.exit_code == 1
    assert "reading it needs torch (pip install torch)" in result.stderr


@needs_pyarrow
def test_a_parquet_list_column_streams_by_row_group(run: Run, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ce_cli.io.tensor_files import ParquetRows

    rng = np.random.default_rng(0)
    logits = rng.standard_normal((1000, 4)).astype(np.float32)
    targets = rng.integers(0, 4, 1000)
    column = pa.array([row.tolist() for row in logits], type=pa.list_(pa.float32()))
    pq.write_table(pa.table({"x": column}), tmp_path / "g.parquet", row_group_size=64)
    rows = ParquetRows(str(tmp_path / "g.parquet"), "x", "g")
    assert (rows.shape, rows.dtype) == ((1000, 4), np.dtype(np.float32))
    np.testing.assert_array_equal(rows.leading(60, 200), logits[60:200])  # across three row groups
    np.testing.assert_array_equal(rows[990:1000], logits[990:])
    np.save(tmp_path / "t.npy", targets)
    got = _losses(run, "-l", f"{tmp_path}/g.parquet:x", "-t", str(tmp_path / "t.npy"))
    np.testing.assert_allclose(got, ce_cli.cross_entropy(logits, targets, reduction="none"), rtol=1e-15)
    ragged = tmp_path / "r.parquet"
    pq.write_table(pa.table({"x": [[1.0, 2.0], [1.0]]}), ragged)
    result = run("compute", "-l", f"{ragged}:x", "-t", "0,0")
    assert result.exit_code == 1
    assert "rows of one length are needed" in result.stderr
