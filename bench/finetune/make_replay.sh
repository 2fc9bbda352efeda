#!/usr/bin/env bash
# General text for `citadel finetune --preserve`: N stories sampled from the base model itself
# (temperature 1, seeds 1..N), one {"text": ...} per line. Sampling the model keeps the
# evaluation text (tests/data/text) out of training.
#   bench/finetune/make_replay.sh CITADEL MODEL N > replay.jsonl
set -euo pipefail
citadel=${1:?usage: make_replay.sh CITADEL MODEL N}
model=${2:?}
n=${3:-200}
for i in $(seq 1 "$n"); do
  "$citadel" generate -m "$model" -p "" -n 120 --temperature 1 -s "$i" --json |
    node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const t = JSON.parse(s).text.trim(); if (t) console.log(JSON.stringify({ text: t })); });'
done
