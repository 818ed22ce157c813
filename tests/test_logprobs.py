"""``compute --logprobs``: JSON Lines as the OpenAI and vLLM documentation write them, the perplexities as
lm-evaluation-harness defines them (computed here by hand), and the refusals."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from ce_cli.logprobs.reader import read_logprobs
from tests.conftest import Run

# The OpenAI Chat Completions response with logprobs=true (platform.openai.com/docs/api-reference/chat/object).
CHAT = (
    '{"id":"chatcmpl-123","object":"chat.completion","created":1702685778,"model":"gpt-4o-mini",'
    '"choices":[{"index":0,"message":{"role":"assistant","content":"Hello there"},"logprobs":{"content":['
    '{"token":"Hello","logprob":-0.31725305,"bytes":[72,101,108,108,111],"top_logprobs":[]},'
    '{"token":" there","logprob":-1.2479312,"bytes":[32,116,104,101,114,101],"top_logprobs":[]}]},'
    '"finish_reason":"stop"}]}'
)
# The legacy Completions response with echo=true and logprobs=0: the first token has no log-probability.
COMPLETIONS = (
    '{"id":"cmpl-1","object":"text_completion","choices":[{"text":"The cat sat","index":0,"logprobs":'
    '{"tokens":["The"," cat"," sat"],"token_logprobs":[null,-6.25,-3.5],"top_logprobs":null,'
    '"text_offset":[0,3,7]},"finish_reason":"length"}]}'
)
# vLLM's RequestOutput with prompt_logprobs=1, as JSON: a null first, then {token_id: Logprob} per position.
VLLM = (
    '{"request_id":"0","prompt":"a b c","prompt_token_ids":[64,275,269],"prompt_logprobs":[null,'
    '{"275":{"logprob":-2.5,"rank":3,"decoded_token":" b"},"65":{"logprob":-1.0,"rank":1,"decoded_token":" x"}},'
    '{"269":{"logprob":-0.75,"rank":1,"decoded_token":" c"}}]}'
)


def _write(tmp_path: Path, name: str, *lines: str) -> str:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_openai_chat_with_word_and_byte_perplexity(run: Run, tmp_path: Path) -> None:
    result = run("compute", "--logprobs", _write(tmp_path, "chat.jsonl", CHAT), "-f", "json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    nll = 0.31725305 + 1.2479312
    words = len(re.split(r"\s+", "Hello there"))  # lm_eval/api/task.py counts a document's words so
    size = len(b"Hello there")
    assert (out["format"], out["n_sequences"], out["n_tokens"], out["words"], out["bytes"]) == (
        "openai-chat",
        1,
        2,
        words,
        size,
    )
    assert out["token_perplexity"] == pytest.approx(math.exp(nll / 2), rel=1e-14)
    assert out["word_perplexity"] == pytest.approx(math.exp(nll / words), rel=1e-14)
    assert out["byte_perplexity"] == pytest.approx(math.exp(nll / size), rel=1e-14)
    assert out["bits_per_byte"] == pytest.approx(nll / size / math.log(2), rel=1e-14)
    assert result.stderr == "ce-loss: read 1 sequences, 2 tokens, as openai-chat\n"


def test_openai_completions_skip_the_leading_null(run: Run, tmp_path: Path) -> None:
    result = run("compute", "--logprobs", _write(tmp_path, "c.jsonl", COMPLETIONS), "-f", "json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["n_tokens"], out["skipped"]) == (2, 1)
    assert out["mean"] == pytest.approx((6.25 + 3.5) / 2, rel=1e-15)
    assert "1 leading tokens without a log-probability (null) skipped" in result.stderr


def test_vllm_takes_the_prompt_tokens_entry(run: Run, tmp_path: Path) -> None:
    result = run("compute", "--logprobs", _write(tmp_path, "v.jsonl", VLLM), "-q")
    assert result.exit_code == 0, result.stderr
    assert float(result.stdout) == pytest.approx((2.5 + 0.75) / 2, rel=1e-15)  # not the top-1 candidate's -1.0


def test_plain_arrays_pooled_and_per_sequence(run: Run, tmp_path: Path) -> None:
    path = _write(tmp_path, "p.jsonl", "[-1.0, -2.0, -3.0]", "[-0.5]")
    out = json.loads(run("compute", "--logprobs", path, "-f", "json", "--words", "2,1", "--bytes", "10,3").stdout)
    assert out["token_perplexity"] == pytest.approx(math.exp(6.5 / 4), rel=1e-15)  # pooled
    assert out["mean_sequence_perplexity"] == pytest.approx((math.exp(2.0) + math.exp(0.5)) / 2, rel=1e-15)
    assert out["word_perplexity"] == pytest.approx(math.exp(6.5 / 3), rel=1e-15)
    assert out["bits_per_byte"] == pytest.approx(6.5 / 13 / math.log(2), rel=1e-15)
    assert (out["words_from"], out["bytes_from"]) == ("--words", "--bytes")
    table = run("compute", "--logprobs", path)
    assert "unknown (give --words / --bytes)" in table.stdout


def test_shards_read_as_one(run: Run, tmp_path: Path) -> None:
    _write(tmp_path, "s-0.jsonl", "[-1.0, -2.0]")
    _write(tmp_path, "s-1.jsonl", "[-3.0]")
    out = json.loads(run("compute", "--logprobs", str(tmp_path / "s-*.jsonl"), "-f", "json").stdout)
    assert (out["n_sequences"], out["sum"]) == (2, 6.0)


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("[-0.5, -9999]", "sentinel for a token outside the returned top-k"),
        ("[-0.5, 0.25]", "is not a log-probability (they are <= 0)"),
        ("[-0.5, NaN]", "is not a log-probability"),
        ('{"text": "x"}', "is not one of the formats ce-loss reads"),
        ("[-0.5", "is not JSON"),
    ],
)
def test_values_that_are_not_log_probabilities_are_refused(run: Run, tmp_path: Path, line: str, words: str) -> None:
    result = run("compute", "--logprobs", _write(tmp_path, "bad.jsonl", "[-1.0]", line))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "line 2" in result.stderr
    assert words in result.stderr


def test_a_format_given_must_fit(run: Run, tmp_path: Path) -> None:
    result = run("compute", "--logprobs", _write(tmp_path, "c.jsonl", CHAT), "--logprobs-format", "vllm")
    assert result.exit_code == 1
    assert "is not vllm (it looks like openai-chat)" in result.stderr
    unknown = run("compute", "--logprobs", _write(tmp_path, "c.jsonl", CHAT), "--logprobs-format", "hf")
    assert unknown.exit_code == 2


def test_options_of_logits_are_refused_and_logits_stay_required(run: Run, tmp_path: Path) -> None:
    both = run("compute", "--logprobs", _write(tmp_path, "p.jsonl", "[-1.0]"), "-t", "0")
    assert both.exit_code == 2
    assert "--targets is not an option with --logprobs" in both.stderr
    counts = run("compute", "--logprobs", _write(tmp_path, "p.jsonl", "[-1.0]"), "--words", "1,2")
    assert counts.exit_code == 1
    assert "--words has 2 values; the log-probabilities hold 1 sequences" in counts.stderr


def test_the_reader_keeps_each_choice_as_a_sequence() -> None:
    two = CHAT.replace(
        '"choices":[{', '"choices":[{"index":1,"logprobs":{"content":[{"token":"a","logprob":-1.0}]}},{', 1
    )
    read = read_logprobs(two, "x")
    assert [len(s.logprobs) for s in read.sequences] == [1, 2]
    assert read.sequences[0].num_bytes is None  # no bytes field: byte counts unknown, never guessed


# Documents as lm-evaluation-harness logs them with --log_samples (lm_eval/evaluator.py: the task's metric
# values beside doc_id, doc, target, arguments, resps and filtered_resps).
ROLLING = [
    '{"doc_id": 0, "doc": {"page": "a b c"}, "target": "a b c", "arguments": [["a b c"]], "resps": [[-12.5]], '
    '"filtered_resps": [-12.5], "word_perplexity": [-12.5, 3], "byte_perplexity": [-12.5, 5], '
    '"bits_per_byte": [-12.5, 5]}',
    '{"doc_id": 1, "doc": {"page": "d e"}, "target": "d e", "arguments": [["d e"]], "resps": [[-7.0]], '
    '"filtered_resps": [-7.0], "word_perplexity": [-7.0, 2], "byte_perplexity": [-7.0, 3], "bits_per_byte": [-7.0, 3]}',
]
CHOICES = [
    '{"doc_id": 0, "doc": {}, "target": 1, "arguments": [], "resps": [[[-2.0, false]], [[-1.0, false]]], '
    '"filtered_resps": [[-2.0, false], [-1.0, false]], "acc": 1.0}',
    '{"doc_id": 1, "doc": {}, "target": 0, "arguments": [], '
    '"resps": [[[-0.5, false]], [[-3.0, false]], [[-0.5, false]]], '
    '"filtered_resps": [[-0.5, false], [-3.0, false], [-0.5, false]], "acc": 1.0}',
    '{"doc_id": 2, "doc": {}, "target": 2, "arguments": [], '
    '"resps": [[[-1.0, false]], [[-2.0, false]], [[-4.0, false]]], '
    '"filtered_resps": [[-1.0, false], [-2.0, false], [-4.0, false]], "acc": 0.0}',
]


def test_an_lm_eval_rolling_task_gives_the_harness_numbers(run: Run, tmp_path: Path) -> None:
    result = run("compute", "--logprobs", _write(tmp_path, "samples_wikitext.jsonl", *ROLLING), "-f", "json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["task"], out["n_documents"], out["words"], out["bytes"]) == ("lm-eval-rolling", 2, 5, 8)
    assert out["word_perplexity"] == pytest.approx(math.exp(19.5 / 5), rel=1e-15)
    assert out["byte_perplexity"] == pytest.approx(math.exp(19.5 / 8), rel=1e-15)
    assert out["bits_per_byte"] == pytest.approx(19.5 / 8 / math.log(2), rel=1e-15)


def test_an_lm_eval_multiple_choice_task_is_checked_against_its_acc(run: Run, tmp_path: Path) -> None:
    path = _write(tmp_path, "samples_arc.jsonl", *CHOICES)
    out = json.loads(run("compute", "--logprobs", path, "-f", "json").stdout)
    assert (out["accuracy"], out["logged_acc"], out["disagreements"]) == (2 / 3, 2 / 3, 0)  # a tie: the first
    wrong = _write(tmp_path, "bad.jsonl", *CHOICES[:2], CHOICES[2].replace('"acc": 0.0', '"acc": 1.0'))
    result = run("compute", "--logprobs", wrong, "-q")
    assert result.exit_code == 0
    assert float(result.stdout) == pytest.approx(2 / 3)
    assert "1 documents' logged acc differs" in result.stderr


def test_two_models_log_probabilities_pool_and_diff(run: Run, tmp_path: Path) -> None:
    new = _write(tmp_path, "new.jsonl", "[-1.0, -2.0]", "[-0.5]")
    old = _write(tmp_path, "old.jsonl", "[-1.5, -2.5]", "[-0.25]")
    out = json.loads(run("diff", "--logprobs", new, "--baseline", old, "-f", "json", "--bootstrap", "500").stdout)
    d = [-0.5, -0.5, 0.25]  # per token: -lp_new - (-lp_old)
    assert out["delta"] == pytest.approx(sum(d) / 3, rel=1e-14)
    assert (out["wins"], out["losses"], out["n_samples"]) == (2, 1, 3)
    assert (out["accuracy"], out["mcnemar_p"], out["top1_agreement"], out["kl"]) == (None, None, None, None)
    short = _write(tmp_path, "short.jsonl", "[-1.0]", "[-0.5]")
    mismatch = run("diff", "--logprobs", new, "--baseline", short)
    assert mismatch.exit_code == 1
    assert "sequence 0 has 2 and 1 tokens" in mismatch.stderr
    parts = [_write(tmp_path, f"p{i}.jsonl", line) for i, line in enumerate(["[-1.0, -2.0]", "[-0.5]"])]
    results = []
    for i, part in enumerate(parts):
        results.append(tmp_path / f"r{i}.json")
        results[-1].write_text(run("compute", "--logprobs", part, "-f", "json").stdout)
    pooled = json.loads(run("pool", *map(str, results), "-f", "json").stdout)
    assert (pooled["task"], pooled["n_tokens"]) == ("logprobs", 3)
    assert pooled["token_perplexity"] == pytest.approx(math.exp(3.5 / 3), rel=1e-15)


def test_lm_eval_shards_read_as_one_task(run: Run, tmp_path: Path) -> None:
    _write(tmp_path, "samples_0.jsonl", ROLLING[0])
    _write(tmp_path, "samples_1.jsonl", ROLLING[1])
    out = json.loads(run("compute", "--logprobs", str(tmp_path / "samples_*.jsonl"), "-f", "json").stdout)
    assert (out["n_documents"], out["words"]) == (2, 5)
    assert out["word_perplexity"] == pytest.approx(math.exp(19.5 / 5), rel=1e-15)
    _write(tmp_path, "samples_2.jsonl", CHOICES[0])
    mixed = run("compute", "--logprobs", str(tmp_path / "samples_*.jsonl"))
    assert mixed.exit_code == 1
    assert "is a choices document among rolling documents" in mixed.stderr
