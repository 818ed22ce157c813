"""Write an over-confident classifier's logits and its labels, for the README's calibration run.

Run from the repository's root: python examples/make_calibration_example.py (numpy only). 2000 samples of
10 classes: each label is drawn from softmax(z), and the model reports 2.5 z, so it is over-confident by a
temperature of 2.5, which --fit-temperature recovers; overconfident_scaled.npy is the same model divided by
2.5 (a second model for diff, and a teacher for distillation). The files it writes are committed, with the
reliability diagram the guide shows (ce-loss compute ... --calibration --plot examples/reliability.png).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).parent


def main() -> None:
    rng = np.random.default_rng(2027)
    z = rng.standard_normal((2000, 10)) * 1.2
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(10, p=row) for row in p])
    np.save(HERE / "overconfident.npy", (2.5 * z).astype(np.float32))
    np.save(HERE / "overconfident_labels.npy", labels)
    np.save(HERE / "overconfident_scaled.npy", z.astype(np.float32))  # the same model at T = 2.5: calibrated


if __name__ == "__main__":
    main()
