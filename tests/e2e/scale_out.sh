#!/usr/bin/env bash
# Citadel as the gateway in front of three `citadel serve` engines (a model with `upstreams:`):
# the same greedy answers as an engine asked directly on every forwarded route, streams passed
# through chunk by chunk, usage in quotas / audit / metrics; an engine killed mid-load (no request
# that had not started streaming fails, cut streams end with an error event), all engines down
# (503 + Retry-After within the connect timeout), engines back (used again); hostile upstreams
# (garbage, a stall mid-stream, an endless body) give errors and bounded memory.
set -euo pipefail
bin=${1:?usage: scale_out.sh CITADEL_BINARY}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.bash"
root=$(repo_root)
work=$(mktemp -d)
model="$root/models/stories260K.gguf"
declare -a eport epid
hostile_pid=""
cleanup() {
  stop_server
  for p in "${epid[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  [ -n "$hostile_pid" ] && kill "$hostile_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -n "${SERVER_LOG:-}" ] && tail -20 "$SERVER_LOG"; exit 1; }

start_engine() {  # index [port]
  local i=$1 port=${2:-$(free_port)}
  "$bin" serve --host 127.0.0.1 --port "$port" --model "$model" --model-id stories --parallel 4 \
    >"$work/engine$i.log" 2>&1 &
  epid[$i]=$!
  eport[$i]=$port
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "engine $i did not start: $(cat "$work/engine$i.log")"
}
for i in 0 1 2; do start_engine $i; done

"$bin" keys create --db "$work/keys.db" --role user --name app >"$work/user.out"
"$bin" keys create --db "$work/keys.db" --role admin --name ops >"$work/admin.out"
user=$(tail -1 "$work/user.out")
admin=$(tail -1 "$work/admin.out")
cat >"$work/gateway.yaml" <<YAML
auth_db: $work/keys.db
audit_log: $work/audit.log
models:
  - id: stories
    upstreams: [http://127.0.0.1:${eport[0]}, http://127.0.0.1:${eport[1]}, http://127.0.0.1:${eport[2]}]
    connect_timeout: 1
    probe_interval: 0.5
YAML
start_server "$bin" --config "$work/gateway.yaml"
gw="http://127.0.0.1:$PORT"
direct="http://127.0.0.1:${eport[0]}"
auth=(-H "Authorization: Bearer $user")

# --- The same answers as an engine asked directly ----------------------------------------------
field() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
chat='{"model":"stories","messages":[{"role":"user","content":"Tell me a story about a cat."}],"max_tokens":40,"temperature":0}'
a=$(curl -sf "${auth[@]}" "$gw/v1/chat/completions" -d "$chat") || fail "chat through the gateway"
b=$(curl -sf "$direct/v1/chat/completions" -d "$chat")
[ "$(field 'd["choices"][0]["message"]["content"]' <<<"$a")" = "$(field 'd["choices"][0]["message"]["content"]' <<<"$b")" ] ||
  fail "chat answers differ: $a vs $b"
[ "$(field 'd["usage"]["completion_tokens"]' <<<"$a")" = 40 ] || fail "usage not passed on: $a"
[ "$(field 'd["model"]' <<<"$a")" = stories ] || fail "model name: $a"
comp='{"model":"stories","prompt":"Once upon a time","max_tokens":48,"temperature":0}'
a=$(curl -sf "${auth[@]}" "$gw/v1/completions" -d "$comp")
b=$(curl -sf "$direct/v1/completions" -d "$comp")
golden=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["text"])' "$root/../shared/golden/stories260K.json" 2>/dev/null || true)
[ "$(field 'd["choices"][0]["text"]' <<<"$a")" = "$(field 'd["choices"][0]["text"]' <<<"$b")" ] || fail "completions differ"
g=$(curl -sf "${auth[@]}" "$gw/generate" -d '{"model":"stories","prompt":"Once upon a time","max_tokens":48,"temperature":0}')
[ "$(field 'd["response"]' <<<"$g")" = "$(field 'd["choices"][0]["text"]' <<<"$b")" ] || fail "/generate differs: $g"
e1=$(curl -sf "${auth[@]}" "$gw/v1/embeddings" -d '{"model":"stories","input":"a red ball"}' | field 'd["data"][0]["embedding"][:4]')
e2=$(curl -sf "$direct/v1/embeddings" -d '{"model":"stories","input":"a red ball"}' | field 'd["data"][0]["embedding"][:4]')
[ "$e1" = "$e2" ] || fail "embeddings differ: $e1 vs $e2"
curl -sf "${auth[@]}" "$gw/v1/models" | grep -q '"id":"stories"' || fail "/v1/models does not list the model"
echo "ok - chat, completions, /generate and embeddings through the gateway equal the engine's greedy answers"

# Streaming: chunks as they come, the same text, [DONE]; the usage chunk only when asked for.
stream='{"model":"stories","messages":[{"role":"user","content":"Tell me a story about a cat."}],"max_tokens":40,"temperature":0,"stream":true}'
curl -sfN "${auth[@]}" "$gw/v1/chat/completions" -d "$stream" >"$work/stream.txt"
text=$(sed -n 's/^data: //p' "$work/stream.txt" | python3 -c '
import json, sys
out = ""
for l in sys.stdin:
    l = l.strip()
    if l == "[DONE]": break
    j = json.loads(l)
    assert "usage" not in j or j["usage"] is None, "a usage chunk the client did not ask for"
    for c in j["choices"]: out += c["delta"].get("content") or ""
print(out)')
[ "$text" = "$(field 'd["choices"][0]["message"]["content"]' <<<"$(curl -sf "$direct/v1/chat/completions" -d "$chat")")" ] ||
  fail "streamed text differs"
[ "$(grep -c '^data: ' "$work/stream.txt")" -gt 10 ] || fail "the stream came in one piece"
tail -2 "$work/stream.txt" | grep -q '^data: \[DONE\]' || fail "no [DONE]"
curl -sfN "${auth[@]}" "$gw/v1/chat/completions" \
  -d "${stream%\}},\"stream_options\":{\"include_usage\":true}}" >"$work/usage.txt"; grep -q '"completion_tokens":40' "$work/usage.txt" ||
  fail "include_usage: no usage chunk: $(tail -c 600 "$work/usage.txt")"
echo "ok - streams pass through event by event, usage chunk only when asked for"

# Usage feeds the key's usage, the audit trail and the metrics.
usage=$(curl -sf -H "Authorization: Bearer $admin" "$gw/admin/usage")
python3 -c 'import json,sys; rows=json.loads(sys.argv[1])["data"]; t=sum(r["completion_tokens"] for r in rows); assert t>=40*3+48*2, rows' "$usage" ||
  fail "usage not counted: $usage"
grep -q '"completion_tokens":40' "$work/audit.log" || fail "no usage in the audit trail"
metrics=$(curl -sf -H "Authorization: Bearer $admin" "$gw/metrics")
grep -q 'citadel_upstream_requests_total{model="stories",upstream="http://127.0.0.1:[0-9]*",outcome="ok"}' <<<"$metrics" ||
  fail "no upstream metrics"
grep -q 'citadel_upstream_healthy{model="stories",upstream=.*} 1' <<<"$metrics" || fail "no upstream health gauge"
echo "ok - upstream usage in the key's usage, the audit trail and the metrics"

# --- One engine killed mid-load ------------------------------------------------------------------
long='{"model":"stories","messages":[{"role":"user","content":"CONV"}],"max_tokens":400,"temperature":0,"stream":true}'
pids=()
for n in $(seq 1 12); do
  curl -sN "${auth[@]}" "$gw/v1/chat/completions" -d "${long/CONV/Story number $n about a dog.}" >"$work/load$n.txt" 2>/dev/null &
  pids+=($!)
done
sleep 0.3
kill -9 "${epid[1]}"; wait "${epid[1]}" 2>/dev/null || true
epid[1]=""
late=()
for n in $(seq 13 24); do  # sent after the kill: every one must succeed
  curl -s -o "$work/load$n.txt" -w '%{http_code}' "${auth[@]}" "$gw/v1/chat/completions" \
    -d "{\"model\":\"stories\",\"messages\":[{\"role\":\"user\",\"content\":\"Story $n.\"}],\"max_tokens\":30,\"temperature\":0}" \
    >"$work/code$n" &
  late+=($!)
done
for p in "${pids[@]}" "${late[@]}"; do wait "$p" || true; done
complete=0 cut=0
for n in $(seq 1 12); do
  if tail -2 "$work/load$n.txt" | grep -q '^data: \[DONE\]'; then
    grep -q '"error"' "$work/load$n.txt" && fail "stream $n has an error and [DONE]"
    complete=$((complete + 1))
  elif grep -q '"upstream_error"' "$work/load$n.txt"; then
    cut=$((cut + 1))  # was streaming from the killed engine: ends with an error event
  else
    fail "stream $n ended silently: $(tail -c 300 "$work/load$n.txt")"
  fi
done
for n in $(seq 13 24); do [ "$(cat "$work/code$n")" = 200 ] || fail "request $n after the kill: $(cat "$work/code$n") $(cat "$work/load$n.txt")"; done
[ $complete -ge 6 ] || fail "only $complete of 12 streams completed"
echo "ok - engine killed mid-load: $complete streams complete, $cut cut with an error event, 12 of 12 later requests answered"

# --- All engines down, then back -------------------------------------------------------------
kill -9 "${epid[0]}" "${epid[2]}"; wait "${epid[0]}" "${epid[2]}" 2>/dev/null || true; epid[0]=""; epid[2]=""
sleep 0.2
read -r code took < <(curl -s -D "$work/h" -o "$work/down.json" -w '%{http_code} %{time_total}\n' "${auth[@]}" \
  "$gw/v1/chat/completions" -d "$chat")
[ "$code" = 503 ] || fail "all down: HTTP $code $(cat "$work/down.json")"
grep -qi '^Retry-After: [0-9]' "$work/h" || fail "no Retry-After"
grep -q '"upstreams_unavailable"' "$work/down.json" || fail "no error object: $(cat "$work/down.json")"
python3 -c "assert $took < 1.0, $took" || fail "the 503 took ${took}s (connect timeout 1 s)"
echo "ok - all engines down: 503 with Retry-After and an error object in ${took}s"
for i in 0 1 2; do start_engine $i "${eport[$i]}"; done
ok=0
for _ in $(seq 1 40); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "$gw/v1/chat/completions" -d "$chat")" = 200 ] && { ok=1; break; }
  sleep 0.25
done
[ $ok = 1 ] || fail "engines back, the gateway did not use them"
sleep 1.5  # every probe has seen them
for n in $(seq 1 9); do
  curl -sf -o /dev/null "${auth[@]}" "$gw/v1/chat/completions" \
    -d "{\"model\":\"stories\",\"messages\":[{\"role\":\"user\",\"content\":\"Fresh story $n.\"}],\"max_tokens\":4}" || fail "request $n after recovery"
done
used=0
for i in 0 1 2; do
  r=$(curl -sf "http://127.0.0.1:${eport[$i]}/metrics" | sed -n 's/^citadel_http_requests_total{endpoint="\/v1\/chat\/completions"[^}]*status="200"} //p' | head -1)
  [ -n "$r" ] && [ "${r%.*}" -gt 0 ] && used=$((used + 1))
done
[ $used -ge 2 ] || fail "after recovery only $used engines took requests"
echo "ok - engines back: used again ($used of 3 took the next 9 requests)"
stop_server

# --- Hostile upstreams ---------------------------------------------------------------------------
hport=$(free_port)
python3 - "$hport" >"$work/hostile.log" 2>&1 <<'PY' &
import http.server, socketserver, sys, time
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        kind = self.path.split("/")[1]
        if kind == "garbage":
            body = b"\x00\xffthis is not json" * 10
            self.send_response(200); self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
        elif kind == "stall":
            self.send_response(200); self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked"); self.end_headers()
            ev = b'data: {"choices":[{"index":0,"delta":{"content":"Once"}}]}\n\n'
            self.wfile.write(b"%x\r\n%s\r\n" % (len(ev), ev)); self.wfile.flush()
            time.sleep(30)
        elif kind == "huge":  # 10 GB announced, sent until the gateway gives up
            self.send_response(200); self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(10 << 30)); self.end_headers()
            block = b"[" * (1 << 20)
            try:
                for _ in range(10 << 10): self.wfile.write(block)
            except OSError: pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer): daemon_threads = True
S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
hostile_pid=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$hport/health" >/dev/null 2>&1 && break; sleep 0.1; done
cat >"$work/hostile.yaml" <<YAML
models:
  - id: garbage
    upstreams: [http://127.0.0.1:$hport/garbage]
  - id: stall
    upstreams: [http://127.0.0.1:$hport/stall]
    read_timeout: 2
  - id: huge
    upstreams: [http://127.0.0.1:$hport/huge]
YAML
start_server "$bin" --config "$work/hostile.yaml"
gw="http://127.0.0.1:$PORT"
code=$(curl -s -o "$work/g.json" -w '%{http_code}' "$gw/v1/chat/completions" -d "${chat/\"stories\"/\"garbage\"}")
[ "$code" = 502 ] && grep -q upstream_error "$work/g.json" || fail "garbage: HTTP $code $(cat "$work/g.json")"
start=$(date +%s)
curl -sN "$gw/v1/chat/completions" -d "${stream/\"stories\"/\"stall\"}" >"$work/s.txt" || true
grep -q '"Once"' "$work/s.txt" && grep -q upstream_error "$work/s.txt" || fail "stall: $(cat "$work/s.txt")"
[ $(($(date +%s) - start)) -le 6 ] || fail "the stalled stream was not cut after the read timeout"
code=$(curl -s -o "$work/h.json" -w '%{http_code}' "$gw/v1/chat/completions" -d "${chat/\"stories\"/\"huge\"}")
[ "$code" = 502 ] && grep -q "larger than" "$work/h.json" || fail "huge: HTTP $code $(head -c 300 "$work/h.json")"
rss=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status")
[ "$rss" -lt 400000 ] || fail "peak memory ${rss} kB after the endless body"
curl -sf "$gw/health" >/dev/null || fail "the gateway is down after hostile upstreams"
echo "ok - hostile upstreams: garbage 502, stall cut after the read timeout with an error event, endless body 502 (peak RSS $((rss / 1024)) MiB)"
