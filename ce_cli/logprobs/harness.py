"""lm-evaluation-harness ``--log_samples`` files, re-scored without re-running the model.

Each line is one document as the harness logs it (lm_eval/evaluator.py: ``doc_id``, ``doc``, ``target``,
``resps``, ``filtered_resps``, and the task's per-document metric values):

- ``loglikelihood_rolling`` tasks (wikitext): ``word_perplexity``, ``byte_perplexity`` and ``bits_per_byte``
  hold ``[loglikelihood, words]``, ``[loglikelihood, bytes]``; the harness aggregates them as
  ``exp(-sum(ll) / sum(units))`` and ``-sum(ll) / sum(bytes) / ln 2`` (lm_eval/api/metrics.py);
- multiple-choice ``loglikelihood`` tasks: ``filtered_resps`` holds ``[loglikelihood, is_greedy]`` per
  choice and ``target`` the gold index; the harness's ``acc`` is 1 where the first choice of largest
  log-likelihood is the gold one (lm_eval/api/task.py), checked here against the file's own ``acc``.
"""

from __future__ import annotations

import math

import numpy as np

from ce_cli.errors import InputError
from ce_cli.logprobs.reader import json_lines
from ce_cli.records import frozen


def is_harness_sample(record: object) -> bool:
    """Whether a parsed JSON line is a document of an lm-evaluation-harness samples file."""
    return isinstance(record, dict) and "doc_id" in record and ("filtered_resps" in record or "resps" in record)


@frozen
class RollingScores:
    """A ``loglikelihood_rolling`` task's documents: log-likelihoods, words and bytes."""

    loglikelihoods: list[float]
    words: list[int]
    num_bytes: list[int]

    @property
    def word_perplexity(self) -> float:
        return math.exp(-math.fsum(self.loglikelihoods) / sum(self.words))

    @property
    def byte_perplexity(self) -> float:
        return math.exp(-math.fsum(self.loglikelihoods) / sum(self.num_bytes))

    @property
    def bits_per_byte(self) -> float:
        return -math.fsum(self.loglikelihoods) / sum(self.num_bytes) / math.log(2.0)


@frozen
class ChoiceScores:
    """A multiple-choice task's documents: the choices' log-likelihoods, the gold index, the logged ``acc``."""

    choices: list[list[float]]
    gold: list[int]
    logged_acc: list[float | None]

    @property
    def correct(self) -> list[bool]:
        return [int(np.argmax(lls)) == gold for lls, gold in zip(self.choices, self.gold, strict=True)]

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.correct)) if self.choices else math.nan

    @property
    def disagreements(self) -> int:
        """Documents whose logged ``acc`` is not what their log-likelihoods give."""
        return sum(
            1 for ok, acc in zip(self.correct, self.logged_acc, strict=True) if acc is not None and bool(acc) != ok
        )


def _pair(value: object, where: str, name: str) -> tuple[float, int]:
    if not (isinstance(value, list) and len(value) == 2):
        raise InputError(f"{where}: {name} is not [loglikelihood, count]")
    ll, count = value
    if not isinstance(ll, (int, float)) or not isinstance(count, (int, float)) or count < 0 or ll > 0:
        raise InputError(f"{where}: {name} {value!r} is not [loglikelihood <= 0, count >= 0]")
    return float(ll), int(count)


def read_harness(files: list[tuple[str, str]]) -> RollingScores | ChoiceScores:
    """Every document of samples files (``(label, text)`` each, shards of one task), as a rolling or a
    multiple-choice task (by the first document).

    Raises:
        InputError: a line that is not JSON or not a document of the first one's kind.
    """
    lls: list[float] = []
    words: list[int] = []
    sizes: list[int] = []
    choices: list[list[float]] = []
    gold: list[int] = []
    acc: list[float | None] = []
    kind = ""
    records = ((where, record) for label, text in files for where, record in json_lines(text, label))
    for where, record in records:
        if not is_harness_sample(record):
            raise InputError(f"{where} is not a document of an lm-evaluation-harness samples file")
        this = "rolling" if "word_perplexity" in record or "bits_per_byte" in record else "choices"
        kind = kind or this
        if this != kind:
            raise InputError(f"{where} is a {this} document among {kind} documents")
        if kind == "rolling":
            ll, w = _pair(record.get("word_perplexity"), where, "word_perplexity")
            _, b = _pair(record.get("byte_perplexity", record.get("bits_per_byte")), where, "byte_perplexity")
            lls.append(ll)
            words.append(w)
            sizes.append(b)
            continue
        responses = record.get("filtered_resps")
        target = record.get("target")
        if not isinstance(responses, list) or not responses or not isinstance(target, int):
            raise InputError(f"{where}: a multiple-choice document needs filtered_resps per choice and a gold index")
        try:
            values = [float(r[0]) if isinstance(r, list) else float(r) for r in responses]
        except (TypeError, ValueError):
            raise InputError(f"{where}: filtered_resps are not [loglikelihood, is_greedy] per choice") from None
        if not 0 <= target < len(values):
            raise InputError(f"{where}: target {target} is not one of the {len(values)} choices")
        choices.append(values)
        gold.append(target)
        logged = record.get("acc")
        acc.append(float(logged) if isinstance(logged, (int, float)) else None)
    if kind == "rolling":
        return RollingScores(lls, words, sizes)
    if not choices:
        raise InputError(f"{', '.join(label for label, _ in files)} holds no document")
    return ChoiceScores(choices, gold, acc)
