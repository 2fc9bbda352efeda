#!/usr/bin/env bash
# Training speed against inference on the same model, and what LoRA costs when serving:
#  - `citadel finetune` tokens/s (forward + backward + AdamW, one epoch of LINES lines of the Sunny
#    Bank corpus) and its peak memory, against `citadel bench` prefill tokens/s (forward only, a
#    128-token prompt) — the usual expectation is training at about 1/3 of prefill;
#  - `citadel bench` decode tokens/s of one sequence, base vs with the trained adapter (--lora);
#  - decode of a batch of 4 sequences with 1, 2 and 4 different adapters vs the base alone
#    (bench/lora_batch.cpp, built here against BUILD_DIR's libraries).
# On the bundled stories260K and on a random-weight llama-110m (Q8_0 and F32, the bundled vocabulary).
#   bash bench/finetune/speed.sh BUILD_DIR [threads] [lines]
set -euo pipefail
build=${1:?usage: speed.sh BUILD_DIR [threads] [lines]}
threads=${2:-2}
lines=${3:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin="$build/citadel"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
head -"$lines" "$root/tests/data/finetune/bank_train.jsonl" >"$work/data.jsonl"
"$bin" synth --shape llama-110m --type q8_0 --vocab-from "$root/models/stories260K.gguf" "$work/llama-110m-q8_0.gguf" >/dev/null
"$bin" synth --shape llama-110m --type f32 --vocab-from "$root/models/stories260K.gguf" "$work/llama-110m-f32.gguf" >/dev/null
g++ -O2 -std=c++20 -I"$root/src" "$root/bench/lora_batch.cpp" "$build/libcitadel_model.a" "$build/libcitadel_core.a" \
  -lcrypto -lpthread -o "$work/lora_batch"
field() { sed "s/.*\"$1\":\([0-9.e+-]*\).*/\1/"; }

printf '%-22s %9s %9s %7s %10s %9s %12s %12s\n' model train_t/s prefill_t/s ratio peak_MiB extra_MiB decode_t/s +lora_t/s
for m in "$root/models/stories260K.gguf" "$work/llama-110m-q8_0.gguf" "$work/llama-110m-f32.gguf"; do
  /usr/bin/time -f '%M' -o "$work/rss" "$bin" finetune -m "$m" --data "$work/data.jsonl" --val-split 0 -o "$work/a.gguf" \
    --epochs 1 --no-checkpoint -t "$threads" --json 2>/dev/null >"$work/ft.json"
  train=$(field train_tokens_per_second <"$work/ft.json")
  extra=$(field extra_memory_bytes <"$work/ft.json")
  peak_kib=$(tail -1 "$work/rss")
  "$bin" bench -m "$m" -p 128 -n 64 -r 3 -t "$threads" --json >"$work/b.json"
  "$bin" bench -m "$m" -p 0 -n 64 -r 3 -t "$threads" --lora "$work/a.gguf" --json >"$work/bl.json"
  awk -v m="$(basename "$m" .gguf)" -v t="$train" -v p="$(field prefill_tokens_per_second <"$work/b.json")" \
      -v k="$peak_kib" -v x="$extra" -v d="$(field decode_tokens_per_second <"$work/b.json")" \
      -v l="$(field decode_tokens_per_second <"$work/bl.json")" \
      'BEGIN { printf "%-22s %9.1f %9.1f %7.2f %10.0f %9.1f %12.1f %12.1f\n", m, t, p, t / p, k / 1024, x / 1048576, d, l }'
done
echo
for m in "$root/models/stories260K.gguf" "$work/llama-110m-q8_0.gguf"; do
  "$work/lora_batch" "$m" "$threads" 4 32 8
done
