#!/usr/bin/env bash
# Serving throughput: citadel serve (and llama-server when LLAMA_SERVER points at one) on a
# random-weight llama-110m Q8_0 model, at 1, 4 and 16 concurrent streaming clients, 128 tokens each.
#   bash bench/serve_load.sh build/citadel [threads]
set -euo pipefail
bin=${1:-build/citadel}
threads=${2:-2}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tests/e2e/lib.bash"
work=$(mktemp -d)
trap 'stop_server; [ -n "${LLAMA_PID:-}" ] && kill $LLAMA_PID 2>/dev/null; rm -rf "$work"' EXIT
model="$work/llama-110m-q8_0.gguf"
"$bin" synth --shape llama-110m --type q8_0 "$model" >/dev/null

run_levels() {  # url label
  for c in 1 4 16; do
    r=$(node "$here/serve_load.mjs" --url "$1" --clients "$c" --tokens 128 --requests 1)
    echo "{\"server\":\"$2\",$(echo "$r" | cut -c2-)"
  done
}

start_server "$bin" --model "$model" --parallel 16 --threads "$threads" --context 1024
node "$here/serve_load.mjs" --url "http://127.0.0.1:$PORT" --clients 1 --tokens 8 >/dev/null  # warm-up
run_levels "http://127.0.0.1:$PORT" citadel
stop_server

if [ -n "${LLAMA_SERVER:-}" ] && [ -x "$LLAMA_SERVER" ]; then
  lport=$(free_port)
  "$LLAMA_SERVER" -m "$model" -t "$threads" -np 16 -c 16384 --port "$lport" >"$work/llama.log" 2>&1 &
  LLAMA_PID=$!
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$lport/health" >/dev/null 2>&1 && break; sleep 0.1; done
  node "$here/serve_load.mjs" --url "http://127.0.0.1:$lport" --clients 1 --tokens 8 >/dev/null
  run_levels "http://127.0.0.1:$lport" llama-server
fi
