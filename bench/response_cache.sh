#!/usr/bin/env bash
# The response cache for frequent questions: answer latency over loopback from the cache (hit)
# vs generated (miss), p50 and p99 in one run; and the hit ratio when a question log with
# repeats is replayed (a Zipf-like mix: a few questions asked often, many asked once), with the
# memory backend and with Redis when redis-server is installed.
#   bash bench/response_cache.sh [CITADEL_BINARY] [MODEL] [QUESTIONS]
set -euo pipefail
bin=${1:-build/citadel}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tests/e2e/lib.bash"
model=${2:-$here/../models/stories260K.gguf}
questions=${3:-600}
work=$(mktemp -d)
redis_pid=""
trap 'stop_server; [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null; rm -rf "$work"' EXIT

run() {  # label
  URL="http://127.0.0.1:$PORT" LABEL=$1 N=$questions python3 - <<'PY'
import http.client, json, os, random, socket, time, urllib.parse
u = urllib.parse.urlparse(os.environ["URL"])
conn = http.client.HTTPConnection(u.hostname, u.port)
conn.connect()
conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
rng = random.Random(42)
# 200 distinct questions; question i is asked with weight 1 / (i + 1) (Zipf, s = 1).
distinct = [f"What does rule {i} of the bank's savings policy say?" for i in range(200)]
weights = [1.0 / (i + 1) for i in range(len(distinct))]
log = rng.choices(distinct, weights, k=int(os.environ["N"]))
lat = {"hit": [], "miss": []}
for q in log:
    body = json.dumps({"messages": [{"role": "user", "content": q}], "max_tokens": 48, "temperature": 0})
    t = time.perf_counter()
    conn.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    dt = time.perf_counter() - t
    assert r.status == 200, r.status
    lat[r.getheader("X-Citadel-Cache", "none")].append(dt)
def pct(xs, p):
    xs = sorted(xs)
    return round(1000 * xs[min(len(xs) - 1, int(p * len(xs)))], 2) if xs else None
hits, misses = len(lat["hit"]), len(lat["miss"])
print(json.dumps({"cache": os.environ["LABEL"], "requests": hits + misses, "distinct": len(set(log)),
                  "hit_ratio": round(hits / (hits + misses), 3), "best_possible_hit_ratio": round(1 - len(set(log)) / len(log), 3),
                  "hit_p50_ms": pct(lat["hit"], 0.5), "hit_p99_ms": pct(lat["hit"], 0.99),
                  "miss_p50_ms": pct(lat["miss"], 0.5), "miss_p99_ms": pct(lat["miss"], 0.99),
                  "speedup_p50": round(pct(lat["miss"], 0.5) / pct(lat["hit"], 0.5), 1)}))
PY
}

start_server "$bin" --model "$model" --cache memory
run memory
stop_server
if command -v redis-server >/dev/null; then
  rport=$(free_port)
  redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >/dev/null 2>&1 &
  redis_pid=$!
  sleep 0.5
  start_server "$bin" --model "$model" --cache "redis://127.0.0.1:$rport/0"
  run redis
  stop_server
fi
