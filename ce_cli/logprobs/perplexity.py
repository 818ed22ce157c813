"""Token, word and byte perplexity and bits per byte, per sequence and pooled. Pure numpy.

With ``nll`` the negated sum of a sequence's token log-probabilities (natural log), as lm-evaluation-harness
defines them (lm_eval/api/metrics.py: ``weighted_perplexity = exp(-sum(ll) / sum(units))``,
``bits_per_byte = -sum(ll) / sum(bytes) / ln 2``; lm_eval/api/task.py counts a document's words as
``len(re.split(r"\\s+", doc))`` and its bytes as ``len(doc.encode("utf-8"))``):

- ``token_perplexity = exp(sum nll / sum tokens)``, the pooled one papers report, beside the mean of the
  per-sequence perplexities, which weighs a short sequence as much as a long one;
- ``word_perplexity = exp(sum nll / sum words)``;
- ``byte_perplexity = exp(sum nll / sum bytes)``;
- ``bits_per_byte = sum nll / (sum bytes ln 2)``.
"""

from __future__ import annotations

import math
import re

import numpy as np

from ce_cli.errors import ShapeError
from ce_cli.logprobs.reader import LogprobsRead
from ce_cli.records import frozen


def _exp(value: float) -> float:
    try:
        return math.exp(value)
    except OverflowError:
        return math.inf


def count_words(text: str) -> int:
    """lm-evaluation-harness's word count of a document: ``len(re.split(r"\\s+", doc))``."""
    return len(re.split(r"\s+", text))


@frozen
class SequenceScore:
    tokens: int
    nll: float
    words: int | None
    num_bytes: int | None

    @property
    def token_perplexity(self) -> float:
        return _exp(self.nll / self.tokens) if self.tokens else math.nan


@frozen
class Perplexities:
    """Per-sequence scores and the pooled figures (``None`` where the counts they divide by are unknown)."""

    sequences: tuple[SequenceScore, ...]
    words_from: str | None
    bytes_from: str | None

    @property
    def tokens(self) -> int:
        return sum(s.tokens for s in self.sequences)

    @property
    def nll(self) -> float:
        return float(math.fsum(s.nll for s in self.sequences))

    @property
    def mean_nll(self) -> float:
        return self.nll / self.tokens if self.tokens else math.nan

    @property
    def token_perplexity(self) -> float:
        return _exp(self.mean_nll)

    @property
    def mean_sequence_perplexity(self) -> float:
        values = [s.token_perplexity for s in self.sequences if s.tokens]
        return float(np.mean(values)) if values else math.nan

    def _total(self, attribute: str) -> int | None:
        counts = [getattr(s, attribute) for s in self.sequences]
        return None if any(c is None for c in counts) else int(sum(counts))

    @property
    def words(self) -> int | None:
        return self._total("words")

    @property
    def num_bytes(self) -> int | None:
        return self._total("num_bytes")

    @property
    def word_perplexity(self) -> float | None:
        words = self.words
        return None if words is None else _exp(self.nll / words) if words else math.nan

    @property
    def byte_perplexity(self) -> float | None:
        size = self.num_bytes
        return None if size is None else _exp(self.nll / size) if size else math.nan

    @property
    def bits_per_byte(self) -> float | None:
        size = self.num_bytes
        return None if size is None else self.nll / (size * math.log(2.0)) if size else math.nan


def _given(values: list[int] | None, count: int, name: str) -> list[int] | None:
    if values is not None and len(values) != count:
        raise ShapeError(f"{name} has {len(values)} values; the log-probabilities hold {count} sequences")
    return values


def score(read: LogprobsRead, *, words: list[int] | None = None, num_bytes: list[int] | None = None) -> Perplexities:
    """The perplexities of every sequence read; ``words`` and ``num_bytes`` per sequence where given
    (``--words``/``--bytes``), else counted from the tokens' text and bytes where the format carries them.

    Raises:
        ShapeError: ``words`` or ``num_bytes`` not one per sequence.
    """
    count = len(read.sequences)
    words = _given(words, count, "--words")
    num_bytes = _given(num_bytes, count, "--bytes")
    scores = []
    for i, seq in enumerate(read.sequences):
        text = None if seq.tokens is None else "".join(seq.tokens)
        w = words[i] if words is not None else (None if text is None else count_words(text))
        b = num_bytes[i] if num_bytes is not None else seq.num_bytes
        scores.append(SequenceScore(len(seq.logprobs), -math.fsum(seq.logprobs), w, b))
    words_from = (
        "--words" if words is not None else ("the tokens' text" if scores and scores[0].words is not None else None)
    )
    bytes_from = (
        "--bytes"
        if num_bytes is not None
        else (f"the {read.format} bytes" if scores and scores[0].num_bytes is not None else None)
    )
    return Perplexities(tuple(scores), words_from, bytes_from)
