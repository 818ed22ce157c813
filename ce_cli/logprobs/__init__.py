"""Per-token log-probabilities as inference servers return them (``--logprobs``), and the perplexities
papers report from them. Pure numpy: :mod:`~ce_cli.logprobs.reader` (JSON Lines in four formats) and
:mod:`~ce_cli.logprobs.perplexity` (token, word and byte perplexity, bits per byte).
"""
