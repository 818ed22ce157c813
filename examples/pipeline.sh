#!/usr/bin/env bash
# ce-loss in a pipeline.
#  1. Score every *_logits.npy in a folder against its *_targets.npy: the JSON goes to
#     python3, which prints one line per file (name, mean loss, accuracy).
#  2. Compare the three formulas on the worked example, one number each (-q).
# Usage: bash examples/pipeline.sh [FOLDER]   (default: the folder holding this script)
set -euo pipefail
folder=${1:-$(dirname "$0")}

for logits in "$folder"/*_logits.npy; do
  targets=${logits%_logits.npy}_targets.npy
  if [ ! -e "$targets" ]; then
    echo "skipping $logits: no $targets" >&2
    continue
  fi
  ce-loss compute --logits "$logits" --targets "$targets" --format json --no-warnings |
    python3 -c 'import json, sys; r = json.load(sys.stdin); print(sys.argv[1], r["mean"], r["accuracy"], sep="\t")' \
      "$(basename "$logits")"
done

for formula in cross_entropy log_softmax_nll naive; do
  mean=$(ce-loss compute --logits "$folder/worked_logits.csv" --targets "$folder/worked_targets.csv" \
    --formula "$formula" --quiet --no-warnings)
  printf '%s\t%s\n' "$formula" "$mean"
done
