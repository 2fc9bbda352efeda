#!/usr/bin/env bash
# The domain-vs-general trade-off of LoRA fine-tuning on the bundled stories260K model: for each
# (rank, lr, epochs, targets) it trains on the Sunny Bank corpus and prints the held-out domain
# perplexity and the perplexity on general stories (tests/data/text/tinystories_style.txt),
# both with `citadel perplexity --lora` (context 128), against the base model's.
#   bench/finetune/tradeoff.sh BUILD_DIR [ "rank lr epochs targets [preserve_weight]" ... ]
# A preserve_weight trains with --preserve tests/data/finetune/stories_replay.jsonl at that weight
# (text sampled from the base model: the KL to its own predictions keeps general text).
set -euo pipefail
build=${1:?usage: tradeoff.sh BUILD_DIR [configs...]}
shift
root=$(cd "$(dirname "$0")/../.." && pwd)
citadel="$build/citadel"
model="$root/models/stories260K.gguf"
data="$root/tests/data/finetune"
general="$root/tests/data/text/tinystories_style.txt"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=("8 2e-3 3 all" "8 1e-3 2 all" "8 5e-4 2 all" "4 1e-3 2 all" "2 1e-3 2 all"
                                     "8 1e-3 1 all" "8 1e-3 2 attn" "8 1e-3 2 ffn")
ppl() { "$citadel" perplexity -m "$model" -f "$1" -c 128 --json "${@:2}" | sed 's/.*"perplexity":\([0-9.]*\).*/\1/'; }
base_bank=$(ppl "$data/bank_val.txt")
base_stories=$(ppl "$general")
printf '%-6s %-8s %-7s %-7s %12s %12s %14s %14s %8s\n' rank lr epochs targets bank_ppl bank_change stories_ppl stories_change tok/s
printf '%-6s %-8s %-7s %-7s %12.3f %12s %14.3f %14s %8s\n' - - - base "$base_bank" - "$base_stories" - -
for c in "${configs[@]}"; do
  read -r rank lr epochs targets pw <<<"$c"
  out="$tmp/a.gguf"
  preserve=()
  [ -n "${pw:-}" ] && preserve=(--preserve "$data/stories_replay.jsonl" --preserve-weight "$pw") && targets="$targets+p$pw"
  tps=$("$citadel" finetune -m "$model" --data "$data/bank_train.jsonl" --val "$data/bank_val.jsonl" -o "$out" \
        --rank "$rank" --alpha $((2 * rank)) --lr "$lr" --epochs "$epochs" --targets "${targets%%+*}" "${preserve[@]}" \
        --no-checkpoint --json \
        2>/dev/null | sed 's/.*"train_tokens_per_second":\([0-9.]*\).*/\1/')
  bank=$(ppl "$data/bank_val.txt" --lora "$out")
  stories=$(ppl "$general" --lora "$out")
  awk -v r="$rank" -v l="$lr" -v e="$epochs" -v t="$targets" -v b="$bank" -v bb="$base_bank" -v s="$stories" \
      -v bs="$base_stories" -v tps="$tps" 'BEGIN { printf "%-6s %-8s %-7s %-7s %12.3f %+11.1f%% %14.3f %+13.1f%% %8.0f\n",
      r, l, e, t, b, 100 * (b / bb - 1), s, 100 * (s / bs - 1), tps }'
done
