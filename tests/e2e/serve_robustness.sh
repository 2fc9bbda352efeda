#!/usr/bin/env bash
# Server robustness with curl: config file, listen backlog, queue limit (503 + Retry-After), client disconnect
# freeing the slot, oversized bodies (413), malformed JSON (400), SIGTERM draining (exit 0).
set -euo pipefail
bin=${1:?usage: serve_robustness.sh CITADEL_BINARY}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.bash"
root=$(repo_root)
work=$(mktemp -d)
trap 'stop_server; rm -rf "$work"' EXIT
# A model slow enough that requests overlap: random weights of the llama-110m shape.
model="$work/llama-110m-q4_0.gguf"
"$bin" synth --shape llama-110m --type q4_0 "$model" >/dev/null
fail() { echo "FAIL: $*"; [ -n "${SERVER_LOG:-}" ] && tail -20 "$SERVER_LOG"; exit 1; }
passed=0
ok() { echo "ok - $*"; passed=$((passed + 1)); }

# A config file with one slot and a queue of one, so the third concurrent request is refused.
cat >"$work/citadel.yaml" <<YAML
parallel: 1
max_queue: 1
max_body_bytes: 10000
models:
  - id: tiny-stories
    path: $model
YAML
start_server "$bin" --config "$work/citadel.yaml"
url="http://127.0.0.1:$PORT"
models=$(curl -sf "$url/v1/models") || models=""
grep -q '"tiny-stories"' <<<"$models" || fail "config model id not listed"
ok "models come from the YAML config"

# The listen queue is raised past httplib's 5 (16 clients connecting at once lost SYNs and waited
# a second for the retry): ss shows a listening socket's queue length as its Send-Q.
if command -v ss >/dev/null 2>&1; then
  backlog=$(ss -ltnH "sport = :$PORT" | awk '{print $3}' | head -1)
  [ "${backlog:-0}" -ge 128 ] || fail "listen backlog is ${backlog:-unknown}, want >= 128"
  ok "listen backlog $backlog"
else
  echo "skip - listen backlog: ss (iproute2) not installed"
fi

long='{"model":"tiny-stories","prompt":"Once upon a time","max_tokens":100000,"temperature":1,"stream":true}'
curl -sN "$url/v1/completions" -d "$long" -o "$work/a.out" &
a=$!
sleep 0.3
curl -sN "$url/v1/completions" -d "$long" -o "$work/b.out" &
b=$!
sleep 0.3
code=$(curl -s -D "$work/c.headers" -o "$work/c.out" -w '%{http_code}' "$url/v1/completions" -d "$long")
[ "$code" = 503 ] || fail "third request got $code, expected 503"
grep -qi '^retry-after:' "$work/c.headers" || fail "503 without Retry-After"
grep -q '"queue_full"' "$work/c.out" || fail "503 body is not an error object: $(cat "$work/c.out")"
ok "a full queue answers 503 with Retry-After"

# Dropping the clients frees the slot and the queue at once.
kill "$a" "$b" 2>/dev/null || true
wait "$a" "$b" 2>/dev/null || true
for _ in $(seq 1 50); do
  code=$(curl -s -o "$work/d.out" -w '%{http_code}' "$url/generate" -d '{"model":"tiny-stories","prompt":"Hi","max_tokens":4}')
  [ "$code" = 200 ] && break
  sleep 0.1
done
[ "$code" = 200 ] || fail "slot not freed after the clients disconnected (got $code)"
ok "client disconnects free the slot"

# The same for a non-streamed request: once it generates, a client that hangs up frees the slot
# (the engine's running count drops to 0 while the request had 100000 tokens to go).
nonstream='{"model":"tiny-stories","prompt":"Once upon a time","max_tokens":100000,"temperature":1}'
curl -s "$url/v1/completions" -d "$nonstream" -o /dev/null &
h=$!
sleep 0.5
running() { curl -s "$url/metrics" | sed -n 's/^citadel_requests_running{[^}]*} //p'; }
[ "$(running)" = 1 ] || fail "the non-streamed request is not running: $(running)"
kill "$h" 2>/dev/null || true
wait "$h" 2>/dev/null || true
for _ in $(seq 1 30); do
  [ "$(running)" = 0 ] && break
  sleep 0.1
done
[ "$(running)" = 0 ] || fail "slot not freed 3 s after a non-streamed client disconnected"
ok "a non-streamed client that disconnects frees the slot"

head -c 20000 /dev/zero | tr '\0' a >"$work/big"
code=$(curl -s -o "$work/e.out" -w '%{http_code}' "$url/generate" --data-binary @"$work/big")
[ "$code" = 413 ] || fail "oversized body got $code"
grep -q '"error"' "$work/e.out" || fail "413 without an error object"
ok "oversized body: 413 with an error object"

code=$(curl -s -o "$work/f.out" -w '%{http_code}' "$url/v1/chat/completions" -d '{"messages": [')
[ "$code" = 400 ] || fail "malformed JSON got $code"
code=$(curl -s -o "$work/f.out" -w '%{http_code}' "$url/v1/chat/completions" -d '{"messages":[{"role":"user","content":"x"}],"max_tokens":"ten"}')
[ "$code" = 400 ] && grep -q '"param":"max_tokens"' "$work/f.out" || fail "wrong type not reported by field: $(cat "$work/f.out")"
ok "malformed JSON and wrong types: 400 naming the field"

# SIGTERM while a request runs: it finishes, new requests are refused, the server exits 0.
curl -sN "$url/v1/completions" -d '{"model":"tiny-stories","prompt":"Once upon a time","max_tokens":24,"temperature":0,"stream":true}' -o "$work/g.out" &
g=$!
sleep 0.2
kill -TERM "$SERVER_PID"
wait "$g" || true
grep -q 'data: \[DONE\]' "$work/g.out" || fail "the running request did not finish during the drain"
set +e
wait "$SERVER_PID"
rc=$?
set -e
SERVER_PID=""
[ "$rc" = 0 ] || fail "server exit code $rc after SIGTERM"
ok "SIGTERM drains running requests and exits 0"

# An f16 KV cache serves the same greedy answer as f32 on the bundled model; a bad type is refused
# at start with the reason.
greedy='{"prompt":"Once upon a time","max_tokens":40,"temperature":0}'
start_server "$bin" --kv-cache-type f16
f16=$(curl -sf "http://127.0.0.1:$PORT/v1/completions" -d "$greedy") || fail "f16 server did not answer"
stop_server
start_server "$bin"
f32=$(curl -sf "http://127.0.0.1:$PORT/v1/completions" -d "$greedy") || fail "f32 server did not answer"
stop_server
SERVER_PID=""
text() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])["choices"][0]["text"])' "$1"; }
[ -n "$(text "$f16")" ] && [ "$(text "$f16")" = "$(text "$f32")" ] || fail "f16 KV answer differs: $(text "$f16") vs $(text "$f32")"
set +e
msg=$("$bin" serve --port 0 --kv-cache-type f8 2>&1)
rc=$?
set -e
[ "$rc" != 0 ] && grep -q "kv_cache_type must be f32 or f16" <<<"$msg" || fail "bad --kv-cache-type: rc $rc, $msg"
ok "--kv-cache-type f16 answers as f32; an unknown type is refused with the reason"

# A model whose numbers blow up (weights of size 1e20: scores overflow to inf, the softmax to NaN)
# fails its requests with 500 and an error object, streamed ones with an error event, and counts
# them, instead of answering id 0 forever.
"$bin" synth --shape llama-tiny --type f32 --matrix-std 1e20 "$work/nan.gguf" >/dev/null
start_server "$bin" --model "$work/nan.gguf"
url="http://127.0.0.1:$PORT"
code=$(curl -s -o "$work/n.out" -w '%{http_code}' "$url/v1/completions" -d '{"prompt":"Hi","max_tokens":4}')
[ "$code" = 500 ] && grep -q '"code":"non_finite_logits"' "$work/n.out" || fail "NaN model: $code $(cat "$work/n.out")"
curl -sN "$url/v1/chat/completions" -d '{"messages":[{"role":"user","content":"Hi"}],"max_tokens":4,"stream":true}' \
  -o "$work/n2.out"
grep -q '^data: {"error":{.*"non_finite_logits"' "$work/n2.out" || fail "NaN model, streamed: $(cat "$work/n2.out")"
! grep -q '"finish_reason":"length"' "$work/n2.out" || fail "NaN model, streamed: reported as a normal finish"
count=$(curl -s "$url/metrics" | sed -n 's/^citadel_non_finite_logits_total{[^}]*} //p')
[ "$count" = 2 ] || fail "citadel_non_finite_logits_total is '$count', expected 2"
stop_server
SERVER_PID=""
set +e
msg=$("$bin" generate --model "$work/nan.gguf" --prompt Hi --max-tokens 4 2>&1)
rc=$?
set -e
[ "$rc" != 0 ] && grep -q "non-finite logit" <<<"$msg" || fail "NaN model, CLI: rc $rc, $msg"
ok "non-finite logits: 500 / an error event / a CLI error, and a metric"

echo "$passed passed, 0 failed"
