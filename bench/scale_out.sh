#!/usr/bin/env bash
# The gateway in front of local engines (docs/scale-out.md), three measurements in one run:
#  1. prefix affinity: a replayed multi-turn chat workload (each turn resends the conversation so
#     far) through a gateway over 3 engines, with `affinity: prefix` and with `least-outstanding`;
#     the engines' prefix-cache hit ratio (hit tokens / looked-up tokens, from their /metrics);
#  2. overhead: 16 streaming clients straight to one engine and through a gateway in front of it,
#     alternating rounds; aggregate tokens/s and p99 time to first token;
#  3. scale: aggregate tokens/s through the gateway with 1, 2 and 3 engines behind it (on a
#     machine with fewer cores than engines x threads this shows the cores, not the gateway);
#  4. latency: the time the gateway adds to the first token of a request when it does not compete
#     with the engine for cores: one client, one request at a time, to an engine serving the
#     bundled model (~1 ms a request), straight and through the gateway in alternating rounds;
#     p50 and p99 time to first token of each.
#   bash bench/scale_out.sh [CITADEL_BINARY] [ENGINE_THREADS]
#   PARTS="affinity overhead scale latency" (default: all four) picks measurements; ROUNDS (3)
#   overhead and latency rounds, REQUESTS (1) requests per client and overhead round,
#   LATENCY_REQUESTS (200) requests per latency round.
set -euo pipefail
PARTS=${PARTS:-"affinity overhead scale latency"}
part() { [[ " $PARTS " == *" $1 "* ]]; }
bin=${1:-build/citadel}
threads=${2:-1}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tests/e2e/lib.bash"
root=$(repo_root)
work=$(mktemp -d)
declare -a epid eport
cleanup() {
  stop_server
  for p in "${epid[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

start_engines() {  # count model
  for i in $(seq 0 $(($1 - 1))); do
    eport[$i]=$(free_port)
    "$bin" serve --host 127.0.0.1 --port "${eport[$i]}" --model "$2" --model-id m --parallel 16 --threads "$threads" \
      >"$work/engine$i.log" 2>&1 &
    epid[$i]=$!
  done
  for i in $(seq 0 $(($1 - 1))); do
    for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:${eport[$i]}/health" >/dev/null 2>&1 && break; sleep 0.1; done
  done
}
stop_engines() {
  for i in "${!epid[@]}"; do [ -n "${epid[$i]}" ] && kill "${epid[$i]}" 2>/dev/null && wait "${epid[$i]}" 2>/dev/null; epid[$i]=""; done
  return 0
}
start_gateway() {  # count affinity
  local urls=""
  for i in $(seq 0 $(($1 - 1))); do urls+="${urls:+, }http://127.0.0.1:${eport[$i]}"; done
  printf 'models:\n  - id: m\n    upstreams: [%s]\n    affinity: %s\n' "$urls" "$2" >"$work/gateway.yaml"
  start_server "$bin" --config "$work/gateway.yaml"
}
prefix_ratio() {  # count: hit / query tokens summed over the engines
  for i in $(seq 0 $(($1 - 1))); do curl -sf "http://127.0.0.1:${eport[$i]}/metrics"; done | awk '
    /^citadel_prefix_cache_hit_tokens_total/ {h += $NF} /^citadel_prefix_cache_query_tokens_total/ {q += $NF}
    END {printf "%.3f", (q > 0 ? h / q : 0)}'
}

# A random-weight llama-110m Q8_0 (the bundled model's 128-token context is too short for
# conversations; tokens take real work) with the bundled model's vocabulary.
big="$work/llama-110m-q8_0.gguf"
"$bin" synth --shape llama-110m --type q8_0 --vocab-from "$root/models/stories260K.gguf" "$big" >/dev/null

# 1. Prefix affinity: 12 conversations of 6 turns, 6 in flight.
part affinity && for affinity in prefix least-outstanding; do
  start_engines 3 "$big"
  start_gateway 3 "$affinity"
  URL="http://127.0.0.1:$PORT" python3 - <<'PY'
import json, os, threading, urllib.request
url = os.environ["URL"] + "/v1/chat/completions"
system = "You are a storyteller for children. Keep every story short, kind and simple."
convs = [[{"role": "system", "content": system}, {"role": "user", "content": f"Tell me a story about animal number {c}."}]
         for c in range(12)]
def turn(c, t):
    body = {"model": "m", "messages": convs[c], "max_tokens": 16, "temperature": 0}
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    answer = json.load(urllib.request.urlopen(req))["choices"][0]["message"]["content"]
    convs[c] += [{"role": "assistant", "content": answer}, {"role": "user", "content": f"And then what happened? ({t})"}]
for t in range(6):  # each turn of every conversation, 6 conversations at a time
    for start in range(0, 12, 6):
        ts = [threading.Thread(target=turn, args=(c, t)) for c in range(start, start + 6)]
        [x.start() for x in ts]; [x.join() for x in ts]
PY
  echo "{\"measure\":\"prefix_cache_hit_ratio\",\"affinity\":\"$affinity\",\"engines\":3,\"ratio\":$(prefix_ratio 3)}"
  stop_server
  stop_engines
done

# 2., 3. and 4.
part overhead || part scale || part latency || exit 0
load() { node "$here/serve_load.mjs" --url "$1" --clients 16 --tokens 64 --requests "${REQUESTS:-1}" --model m; }
part overhead && start_engines 1 "$big" && start_gateway 1 least-outstanding &&
  load "http://127.0.0.1:${eport[0]}" >/dev/null  # warm-up
part overhead && for round in $(seq 1 "${ROUNDS:-3}"); do
  echo "{\"measure\":\"overhead\",\"round\":$round,\"path\":\"direct\",$(load "http://127.0.0.1:${eport[0]}" | cut -c2-)"
  echo "{\"measure\":\"overhead\",\"round\":$round,\"path\":\"gateway\",$(load "http://127.0.0.1:$PORT" | cut -c2-)"
done
stop_server
stop_engines
part scale && for n in 1 2 3; do
  start_engines "$n" "$big"
  start_gateway "$n" least-outstanding
  echo "{\"measure\":\"scale\",\"engines\":$n,$(load "http://127.0.0.1:$PORT" | cut -c2-)"
  stop_server
  stop_engines
done
# On the bundled model (a request is ~1 ms of engine work), so what differs is the gateway's own time.
part latency && start_engines 1 "$root/models/stories260K.gguf" && start_gateway 1 least-outstanding && for round in $(seq 1 "${ROUNDS:-3}"); do
  for path in direct gateway; do
    url="http://127.0.0.1:$PORT"
    [ "$path" = direct ] && url="http://127.0.0.1:${eport[0]}"
    echo "{\"measure\":\"latency\",\"round\":$round,\"path\":\"$path\",$(node "$here/serve_load.mjs" --url "$url" \
      --clients 1 --tokens 4 --requests "${LATENCY_REQUESTS:-200}" --model m | cut -c2-)"
  done
done
true
