"""Write the worked example as safetensors, Parquet and per-token log-probabilities (JSON Lines).

Run from the repository's root: python examples/make_tensor_examples.py (needs safetensors and pyarrow,
the test extra's, and torch for worked.pt). The files it writes are committed; the README's Inputs table
reads them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from safetensors.numpy import save_file

HERE = Path(__file__).parent
LOGITS = np.array([[0.1234, 0.5555, 0.3211]] * 3)
TARGETS = np.array([0, 1, 2])


def main() -> None:
    save_file({"logits": LOGITS, "labels": TARGETS}, str(HERE / "worked.safetensors"))
    table = pa.table({"logits": [row.tolist() for row in LOGITS], "label": TARGETS})
    pq.write_table(table, HERE / "worked.parquet")
    # the worked example's log-probabilities of its targets, one sequence per line, as OpenAI's chat API writes them
    log_p = LOGITS - np.log(np.sum(np.exp(LOGITS), axis=1, keepdims=True))
    tokens = ["The", " worked", " example"]
    content = [
        {"token": tok, "logprob": float(log_p[i, TARGETS[i]]), "bytes": list(tok.encode()), "top_logprobs": []}
        for i, tok in enumerate(tokens)
    ]
    line = {"choices": [{"index": 0, "logprobs": {"content": content}, "finish_reason": "stop"}]}
    (HERE / "worked_logprobs.jsonl").write_text(json.dumps(line) + "\n", encoding="utf-8")
    import torch  # last: the other files need no torch

    torch.save({"model": {"logits": torch.from_numpy(LOGITS)}, "labels": torch.from_numpy(TARGETS)}, HERE / "worked.pt")


if __name__ == "__main__":
    main()
