"""The mergeable statistics of ``compute --logprobs`` (its JSON ``state``, merged by ``ce-loss pool``).

The summed negative log-likelihood (exact, per sequence) over the tokens: shards of whole sequences pool
into the token perplexity of the whole. Word and byte counts are not pooled (``not_pooled``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ce_cli import __version__
from ce_cli.accumulators import ExactSum, LossStats
from ce_cli.logprobs.perplexity import Perplexities
from ce_cli.render.numbers import json_number


def accumulate(result: Perplexities) -> LossStats:
    nll = np.array([s.nll for s in result.sequences], dtype=np.float64)
    tokens = result.tokens
    return LossStats(
        {"family": "logprobs", "reduction": "mean", "ce_loss": __version__},
        samples=tokens,
        counted=tokens,
        numerator=ExactSum().update(nll),
        denominator=ExactSum().update(np.array([float(tokens)])),
    )


def pooled_json(stats: LossStats) -> dict[str, Any]:
    mean, total, _ = stats.headline()
    try:
        perplexity = math.exp(mean)
    except OverflowError:
        perplexity = math.inf
    return {
        "task": "logprobs",
        "mean": json_number(mean),
        "sum": json_number(total),
        "n_tokens": stats.samples,
        "token_perplexity": json_number(perplexity),
    }
