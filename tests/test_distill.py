"""``--task distill``: the command line against the API and PyTorch's cases, top-k teachers against explicit
numpy written here, the gradient against mpmath, the warnings, and the family in compare, explain, diff, pool."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import mpmath
import numpy as np
import pytest

import ce_cli
import ce_cli.native as native
from ce_cli.families.distill.inputs import validate_distill
from ce_cli.families.distill.losses import DistillOptions
from ce_cli.families.distill.report import build_distill_report
from tests.conftest import DATA, Run, spelled

CASES: list[dict[str, Any]] = json.loads((DATA / "torch_distill_cases.json").read_text())["distill_cases"]
KERNELS = ["numpy", *(f"native-{v}" for v in native.runnable_variants())]


def _save(tmp_path: Path, case: dict[str, Any]) -> list[str]:
    np.save(tmp_path / "s.npy", np.array(spelled(case["student"]), dtype=np.float64))
    np.save(tmp_path / "te.npy", np.array(spelled(case["teacher"]), dtype=np.float64))
    args = ["--task", "distill", "-l", str(tmp_path / "s.npy"), "--teacher", str(tmp_path / "te.npy")]
    if case["targets"] is not None:
        np.save(tmp_path / "t.npy", np.array(case["targets"]))
        args += ["-t", str(tmp_path / "t.npy")]
    args += ["--temperature", str(case["temperature"]), "--alpha", str(case["alpha"])]
    args += ["--divergence", case["divergence"], "--teacher-form", case["teacher_form"]]
    return [*args, "--class-axis", str(case["class_axis"])]


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_the_command_line_matches_pytorch(run: Run, tmp_path: Path, case: dict[str, Any], kernel: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv(native.ENVIRONMENT, kernel)
    result = run("compute", *_save(tmp_path, case), "-f", "json", "--no-warnings")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    want = np.array(spelled(case["expected"]["losses"]), dtype=np.float64).reshape(-1)
    got = np.array(spelled(out["losses"]), dtype=np.float64).reshape(-1)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    finite = np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite], rtol=1e-9, atol=1e-12)
    assert (out["task"], out["temperature"], out["alpha"], out["divergence"]) == (
        "distill", case["temperature"], case["alpha"], case["divergence"]
    )  # fmt: skip
    for key in ("soft_mean", "hard_mean", "mean", "sum", "losses"):
        assert key in out


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    out: np.ndarray = e / e.sum(axis=-1, keepdims=True)
    return out


def _kl(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1) / q), 0.0), axis=-1)
    return out


@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_a_top_k_teacher_renormalized_and_with_a_rest_bucket(temperature: float) -> None:
    rng = np.random.default_rng(6)
    student = rng.standard_normal((5, 8)) * 2
    full_teacher = _softmax(rng.standard_normal((5, 8)) * 2)
    indices = np.argsort(-full_teacher, axis=1)[:, :3]
    values = np.take_along_axis(full_teacher, indices, axis=1)
    q = _softmax(student / temperature)
    q_k = np.take_along_axis(q, indices, axis=1)
    # renormalize: both over the k classes (the teacher's probabilities, the student's softened softmax)
    p_r, q_r = values / values.sum(1, keepdims=True), q_k / q_k.sum(1, keepdims=True)
    # rest: a bucket for each one's missing mass
    p_x = np.concatenate([values, 1 - values.sum(1, keepdims=True)], axis=1)
    q_x = np.concatenate([q_k, 1 - q_k.sum(1, keepdims=True)], axis=1)
    for convention, p, q_side in (("renormalize", p_r, q_r), ("rest", p_x, q_x)):
        options = DistillOptions(teacher_form="probabilities", sparse=convention)  # type: ignore[arg-type]
        if temperature != 1.0:  # the temperature softens the student; a teacher's probabilities stay as given
            with pytest.raises(ce_cli.OptionError):
                options.checked() if temperature == 1.0 else DistillOptions(
                    temperature, teacher_form="probabilities"
                ).checked()
            continue
        inputs = validate_distill(student, None, values, options, indices=indices)
        report = build_distill_report(inputs)
        np.testing.assert_allclose(report.soft, _kl(p, q_side), rtol=1e-12, atol=1e-15)


def test_a_rest_bucket_needs_the_teachers_probabilities() -> None:
    with pytest.raises(ce_cli.OptionError, match="rest"):
        DistillOptions(sparse="rest").checked()


def test_a_top_k_teacher_of_logits_is_renormalized_at_the_temperature() -> None:
    rng = np.random.default_rng(7)
    student, teacher_logits = rng.standard_normal((4, 6)), rng.standard_normal((4, 6))
    indices = np.argsort(-teacher_logits, axis=1)[:, :2]
    values = np.take_along_axis(teacher_logits, indices, axis=1)
    options = DistillOptions(temperature=2.0, sparse="renormalize")
    report = build_distill_report(validate_distill(student, None, values, options, indices=indices))
    p = _softmax(values / 2.0)
    q = _softmax(np.take_along_axis(student, indices, axis=1) / 2.0)
    np.testing.assert_allclose(report.soft, 4.0 * _kl(p, q), rtol=1e-12)


def _mp_loss(s: list[Any], t: list[float], target: int, temperature: float, alpha: float, divergence: str) -> Any:
    def softmax(z: list[Any]) -> list[Any]:
        e = [mpmath.exp(v / temperature) for v in z]
        total = sum(e)
        return [v / total for v in e]

    p_s, p_t = softmax(s), softmax([mpmath.mpf(v) for v in t])
    if divergence == "forward_kl":
        d = sum(a * mpmath.log(a / b) for a, b in zip(p_t, p_s, strict=True))
    elif divergence == "reverse_kl":
        d = sum(b * mpmath.log(b / a) for a, b in zip(p_t, p_s, strict=True))
    else:
        m = [(a + b) / 2 for a, b in zip(p_t, p_s, strict=True)]
        d = sum(a * mpmath.log(a / c) + b * mpmath.log(b / c) for a, b, c in zip(p_t, p_s, m, strict=True)) / 2
    hard = mpmath.log(sum(mpmath.exp(v) for v in s)) - s[target]
    return alpha * temperature**2 * d + (1 - alpha) * hard


@pytest.mark.parametrize("divergence", ["forward_kl", "reverse_kl", "js"])
def test_explain_gives_the_gradient_mpmath_differentiates(run: Run, tmp_path: Path, divergence: str) -> None:
    student, teacher = [0.3, -1.2, 2.0, 0.5], [1.0, 0.1, 1.5, -0.7]
    np.save(tmp_path / "s.npy", np.array([student]))
    np.save(tmp_path / "te.npy", np.array([teacher]))
    np.save(tmp_path / "t.npy", np.array([1]))
    result = run(
        "explain", "--task", "distill", "-l", str(tmp_path / "s.npy"), "--teacher", str(tmp_path / "te.npy"),
        "-t", str(tmp_path / "t.npy"), "--temperature", "3", "--alpha", "0.7", "--divergence", divergence, "-f", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    mpmath.mp.dps = 40
    for c in range(4):

        def f(x: Any, c: int = c) -> Any:
            s = [mpmath.mpf(v) for v in student]
            s[c] = x
            return _mp_loss(s, teacher, 1, 3.0, 0.7, divergence)

        assert out["gradient"][c] == pytest.approx(float(mpmath.diff(f, mpmath.mpf(student[c]))), rel=1e-10, abs=1e-13)
    assert out["loss"] == pytest.approx(
        float(_mp_loss([mpmath.mpf(v) for v in student], teacher, 1, 3.0, 0.7, divergence)), rel=1e-12
    )
    table = run(
        "explain",
        "--task",
        "distill",
        "-l",
        str(tmp_path / "s.npy"),
        "--teacher",
        str(tmp_path / "te.npy"),
        "--temperature",
        "3",
    )
    assert table.exit_code == 0
    assert "T^2" in table.stdout


def test_compare_shows_batchmean_beside_mean(run: Run, tmp_path: Path) -> None:
    case = next(c for c in CASES if c["expected"]["batchmean_times_t2"] is not None)
    result = run("compare", *_save(tmp_path, case), "-f", "json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    classes = np.array(spelled(case["student"])).shape[1]
    assert out["kl_div_batchmean"] == pytest.approx(case["expected"]["batchmean_times_t2"], rel=1e-9)
    assert out["kl_div_mean"] == pytest.approx(out["kl_div_batchmean"] / classes, rel=1e-12)
    assert abs(out["identity_gap"]) < 1e-12
    names = [row["name"] for row in out["divergences"]]
    assert names == ["forward_kl", "reverse_kl", "js", "soft_cross_entropy", "teacher_entropy"]
    forward = out["divergences"][0]
    assert forward["mean"] == pytest.approx(forward["mean_without_t2"] * case["temperature"] ** 2)
    table = run("compare", *_save(tmp_path, case))
    assert "batchmean" in table.stdout
    assert "classic mistake" in table.stdout


def test_warnings_about_the_teacher(run: Run, tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    np.save(tmp_path / "s.npy", rng.standard_normal((5, 4)))
    np.save(tmp_path / "p.npy", _softmax(rng.standard_normal((5, 4))))
    np.save(tmp_path / "z.npy", rng.standard_normal((5, 4)) * 3)
    base = ["compute", "--task", "distill", "-l", str(tmp_path / "s.npy"), "-q"]
    probs_as_logits = run(*base, "--teacher", str(tmp_path / "p.npy"))
    assert probs_as_logits.exit_code == 0
    assert "--teacher-form probabilities" in probs_as_logits.stderr
    logits_as_probs = run(*base, "--teacher", str(tmp_path / "z.npy"), "--teacher-form", "probabilities")
    assert logits_as_probs.exit_code == 0
    assert "not probabilities" in logits_as_probs.stderr
    quiet = run(*base, "--teacher", str(tmp_path / "p.npy"), "--teacher-form", "probabilities")
    assert (quiet.exit_code, quiet.stderr) == (0, "")
    temperature = run(
        *base, "--teacher", str(tmp_path / "p.npy"), "--teacher-form", "probabilities", "--temperature", "2"
    )
    assert temperature.exit_code == 2
    assert temperature.stdout == ""
    assert "temperature" in temperature.stderr


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--task", "distill"], 2, "--teacher SRC"),
        (["--temperature", "2", "-t", "0"], 2, "--temperature goes with --task distill"),
        (["--task", "distill", "--teacher", "1,2,3", "--alpha", "2"], 2, "alpha"),
        (["--task", "distill", "--teacher", "1,2,3", "--divergence", "kl"], 2, "divergence 'kl' is not one of"),
        (["--task", "distill", "--teacher", "1,2"], 1, "shape"),
    ],
)
def test_usage_and_data_errors(run: Run, args: list[str], code: int, words: str) -> None:
    result = run("compute", "-l", "0.5,1.0,2.0", *args)
    assert result.exit_code == code
    assert result.stdout == ""
    assert words in result.stderr


def test_diff_and_pool_take_the_family(run: Run, tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    teacher = rng.standard_normal((40, 5)) * 2
    for name, noise in (("a", 0.2), ("b", 1.0)):
        np.save(tmp_path / f"{name}.npy", teacher + noise * rng.standard_normal((40, 5)))
    np.save(tmp_path / "te.npy", teacher)
    common = ["--task", "distill", "--teacher", str(tmp_path / "te.npy"), "--temperature", "2"]
    diff = run("diff", "-l", str(tmp_path / "a.npy"), "--baseline", str(tmp_path / "b.npy"), *common, "-f", "json")
    assert diff.exit_code == 0, diff.stderr
    assert json.loads(diff.stdout)["delta"] < 0  # the student nearer the teacher is better
    halves = []
    for part, rows in (("0", slice(0, 25)), ("1", slice(25, 40))):
        np.save(tmp_path / f"a{part}.npy", np.load(tmp_path / "a.npy")[rows])
        np.save(tmp_path / f"te{part}.npy", teacher[rows])
        out = run(
            "compute",
            "--task",
            "distill",
            "-l",
            str(tmp_path / f"a{part}.npy"),
            "--teacher",
            str(tmp_path / f"te{part}.npy"),
            "--temperature",
            "2",
            "-f",
            "json",
        )
        halves.append(tmp_path / f"r{part}.json")
        halves[-1].write_text(out.stdout)
    whole = json.loads(run("compute", "-l", str(tmp_path / "a.npy"), *common, "-f", "json").stdout)
    pooled = json.loads(run("pool", *map(str, halves), "-f", "json").stdout)
    assert pooled["mean"] == pytest.approx(whole["mean"], rel=1e-13)
    assert pooled["task"] == "distill"


def test_text_tables_and_the_class_axis_last(run: Run, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    s, t = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))  # (B, T, V), class axis -1
    expected = np.asarray(ce_cli.distillation_loss(s, t, temperature=2.0, class_axis=-1, reduction="none"))
    np.save(tmp_path / "s.npy", s)
    np.save(tmp_path / "t.npy", t)
    out = run(
        "compute",
        "--task",
        "distill",
        "-l",
        str(tmp_path / "s.npy"),
        "--teacher",
        str(tmp_path / "t.npy"),
        "--class-axis",
        "-1",
        "--temperature",
        "2",
        "-f",
        "json",
    )
    assert out.exit_code == 0, out.stderr
    np.testing.assert_allclose(np.array(json.loads(out.stdout)["losses"]), expected, rtol=1e-13)
    flat_s, flat_t = s.reshape(-1, 4), t.reshape(-1, 4)
    (tmp_path / "s.csv").write_text("\n".join(",".join(map(repr, row.tolist())) for row in flat_s) + "\n")
    (tmp_path / "t.csv").write_text("\n".join(",".join(map(repr, row.tolist())) for row in flat_t) + "\n")
    csv = run(
        "compute",
        "--task",
        "distill",
        "-l",
        str(tmp_path / "s.csv"),
        "--teacher",
        str(tmp_path / "t.csv"),
        "--temperature",
        "2",
        "-f",
        "csv",
    )
    assert csv.exit_code == 0, csv.stderr
    assert csv.stdout.splitlines()[0] == "index,soft,loss"
    losses = [float(line.split(",")[2]) for line in csv.stdout.splitlines()[1:]]
    np.testing.assert_allclose(losses, expected.reshape(-1), rtol=1e-13)


@pytest.mark.parametrize("kernel", KERNELS)
def test_the_compiled_forward_kl_at_a_temperature_matches_numpy(kernel: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(native.ENVIRONMENT, kernel)
    rng = np.random.default_rng(5)
    s = rng.standard_normal((300, 1000)).astype(np.float32) * 4
    t = (s + rng.standard_normal((300, 1000)).astype(np.float32)).astype(np.float32)
    options = DistillOptions(temperature=2.5)
    report = build_distill_report(validate_distill(s, None, t, options))
    s64, t64 = s.astype(np.float64) / 2.5, t.astype(np.float64) / 2.5
    expected = 2.5**2 * _kl(_softmax(t64), _softmax(s64))
    np.testing.assert_allclose(report.soft, expected, rtol=1e-11)
    assert math.isfinite(report.mean)


CONFIDENT = [
    ([50.0, 0.0, 0.0], [45.0, 0.0, 0.0], 1.0),  # the KL is about 2e-20, far below its terms
    ([30.0, -5.0, -5.0, -5.0], [32.0, -4.0, -4.0, -4.0], 2.0),
    ([20.0, 19.0, -3.0], [20.0, 19.5, -3.0], 0.5),
    ([-1e4, 0.0, 3.0], [-1e4, 0.5, 3.0], 1.0),
]


def _mp_kd(student: list[float], teacher: list[float], temperature: float) -> float:
    mpmath.mp.dps = 60

    def softmax(z: list[float]) -> list[Any]:
        e = [mpmath.exp(mpmath.mpf(v) / temperature) for v in z]
        total = sum(e)
        return [v / total for v in e]

    p_t, p_s = softmax(teacher), softmax(student)
    return float(temperature**2 * sum(a * mpmath.log(a / b) for a, b in zip(p_t, p_s, strict=True)))


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize(("student", "teacher", "temperature"), CONFIDENT)
def test_confident_rows_against_mpmath(kernel: str, student: list[float], teacher: list[float], temperature: float,
                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv(native.ENVIRONMENT, kernel)
    got = ce_cli.distillation_loss(np.array([student]), np.array([teacher]), temperature=temperature)
    assert got == pytest.approx(_mp_kd(student, teacher, temperature), rel=1e-12, abs=0.0)
