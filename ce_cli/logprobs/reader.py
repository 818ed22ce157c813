"""Per-token log-probabilities from JSON Lines, one sequence per line, in the formats servers write.

- ``openai-chat``: ``choices[i].logprobs.content[j]`` with ``logprob``, ``token`` and ``bytes``
  (the OpenAI Chat Completions API's ``logprobs=true``); each choice is a sequence;
- ``openai-completions``: ``choices[i].logprobs`` with ``token_logprobs`` and ``tokens`` (the legacy
  Completions API with ``echo``); a ``null`` (the first token, which has no context) is skipped and counted;
- ``vllm``: ``prompt_logprobs``, a list per position of ``{token_id: {"logprob", "rank", "decoded_token"}}``
  (``null`` first); the chosen token's entry is the one keyed by ``prompt_token_ids[j]``, or the only one;
- ``plain``: an array of numbers per line.

A value at or below :data:`SENTINEL` (``-9999``, which some servers put for tokens outside the returned
top-k), a positive value or a NaN is refused with its line and position: it is not a log-probability of
the scored token, and averaging it in would give a confident wrong perplexity.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from typing import Any

from ce_cli.errors import InputError, OptionError
from ce_cli.records import frozen

FORMATS = ("auto", "openai-chat", "openai-completions", "vllm", "plain", "lm-eval")
SENTINEL = -9999.0


@frozen
class Sequence:
    """One sequence's token log-probabilities, and what is known of its text."""

    logprobs: list[float]
    tokens: list[str] | None = None
    num_bytes: int | None = None
    skipped: int = 0


@frozen
class LogprobsRead:
    """Every sequence of a file, the format it was read as, and the tokens skipped (a leading ``null``)."""

    sequences: list[Sequence]
    format: str
    skipped: int = 0
    label: str = "logprobs"


def detect(record: Any) -> str:
    """The format of one parsed line (see the module docstring), or ``""`` if none fits."""
    if isinstance(record, list):
        return "plain"
    if isinstance(record, dict):
        if "prompt_logprobs" in record:
            return "vllm"
        choices = record.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            logprobs = choices[0].get("logprobs")
            if isinstance(logprobs, dict):
                if "content" in logprobs:
                    return "openai-chat"
                if "token_logprobs" in logprobs:
                    return "openai-completions"
    return ""


def _checked(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{where}: {value!r} is not a log-probability (a number)")
    number = float(value)
    if math.isnan(number) or number > 0.0:
        raise InputError(f"{where}: {number!r} is not a log-probability (they are <= 0)")
    if number <= SENTINEL:
        raise InputError(
            f"{where}: {number!r} is a sentinel for a token outside the returned top-k, not its log-probability; "
            "ask the server for the scored token's own log-probability (for example vLLM's prompt_logprobs, or "
            "echo with logprobs), since averaging a sentinel in would give a wrong perplexity"
        )
    return number


def _chat(record: dict[str, Any], where: str) -> list[Sequence]:
    out = []
    for i, choice in enumerate(record["choices"]):
        content = (choice.get("logprobs") or {}).get("content") or []
        values = [_checked(item.get("logprob"), f"{where}, choice {i}, token {j}") for j, item in enumerate(content)]
        tokens = [str(item.get("token", "")) for item in content]
        have_bytes = all(isinstance(item.get("bytes"), list) for item in content)
        size = sum(len(item["bytes"]) for item in content) if have_bytes else None
        out.append(Sequence(values, tokens, size))
    return out


def _completions(record: dict[str, Any], where: str) -> list[Sequence]:
    out = []
    for i, choice in enumerate(record["choices"]):
        logprobs = choice.get("logprobs") or {}
        raw, tokens = logprobs.get("token_logprobs") or [], logprobs.get("tokens")
        kept, words, skipped = [], [], 0
        for j, value in enumerate(raw):
            if value is None:
                skipped += 1
                continue
            kept.append(_checked(value, f"{where}, choice {i}, token {j}"))
            if isinstance(tokens, list) and j < len(tokens):
                words.append(str(tokens[j]))
        text_bytes = len("".join(words).encode("utf-8")) if isinstance(tokens, list) else None
        out.append(Sequence(kept, words if isinstance(tokens, list) else None, text_bytes, skipped))
    return out


def _vllm(record: dict[str, Any], where: str) -> list[Sequence]:
    positions = record["prompt_logprobs"] or []
    ids = record.get("prompt_token_ids")
    kept, tokens, skipped = [], [], 0
    for j, entry in enumerate(positions):
        if entry is None:
            skipped += 1
            continue
        if not isinstance(entry, dict) or not entry:
            raise InputError(f"{where}, position {j}: expected {{token_id: {{logprob, ...}}}}, got {entry!r}")
        if isinstance(ids, list) and j < len(ids) and str(ids[j]) in {str(k) for k in entry}:
            chosen = next(v for k, v in entry.items() if str(k) == str(ids[j]))
        elif len(entry) == 1:
            chosen = next(iter(entry.values()))
        else:
            raise InputError(
                f"{where}, position {j}: {len(entry)} candidate tokens and no prompt_token_ids to tell which "
                "was the prompt's; write prompt_token_ids beside prompt_logprobs"
            )
        value = chosen.get("logprob") if isinstance(chosen, dict) else chosen
        kept.append(_checked(value, f"{where}, position {j}"))
        if isinstance(chosen, dict) and "decoded_token" in chosen:
            tokens.append(str(chosen["decoded_token"]))
    text = tokens if len(tokens) == len(kept) else None
    return [Sequence(kept, text, None if text is None else len("".join(text).encode("utf-8")), skipped)]


def _plain(record: list[Any], where: str) -> list[Sequence]:
    return [Sequence([_checked(v, f"{where}, token {j}") for j, v in enumerate(record)])]


READERS: dict[str, Callable[[Any, str], list[Sequence]]] = {
    "openai-chat": _chat,
    "openai-completions": _completions,
    "vllm": _vllm,
    "plain": _plain,
}


def json_lines(text: str, label: str) -> Iterator[tuple[str, Any]]:
    """``(where, record)`` for each non-blank line of JSON Lines ``text`` (``where``: "LABEL, line N").

    Raises:
        InputError: a line that is not JSON.
    """
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{label}, line {number}"
        try:
            yield where, json.loads(line)
        except json.JSONDecodeError as error:
            raise InputError(f"{where} is not JSON ({error.msg})") from None


def read_logprobs(text: str, label: str, fmt: str = "auto") -> LogprobsRead:
    """Every sequence of JSON Lines ``text`` (``label`` names it in messages), in ``fmt`` or as detected.

    Raises:
        OptionError: an unknown format. InputError: a line that is not JSON, fits no format (or not the one
            given), or holds a value that is not a log-probability.
    """
    if fmt not in FORMATS:
        raise OptionError(f"--logprobs-format {fmt!r} is not one of {', '.join(FORMATS)}")
    sequences: list[Sequence] = []
    chosen = "" if fmt == "auto" else fmt
    for where, record in json_lines(text, label):
        found = detect(record)
        if not found:
            raise InputError(
                f"{where} is not one of the formats ce-loss reads (OpenAI chat or completions logprobs, "
                "vLLM prompt_logprobs, or an array of numbers); see --logprobs-format"
            )
        if not chosen:
            chosen = found
        if found != chosen:
            raise InputError(f"{where} is not {chosen} (it looks like {found})")
        sequences += READERS[chosen](record, where)
    if not sequences:
        raise InputError(f"{label} holds no sequence")
    return LogprobsRead(sequences, chosen, sum(s.skipped for s in sequences), label)
