#!/usr/bin/env bash
# The response cache over HTTP: miss then hit with the same answer (plain and streamed: the same
# chunks and [DONE]), Cache-Control: no-cache, sampled answers, TTL, metrics and the audit; then
# Redis shared by two servers, killed mid-run (answers keep coming, uncached, logged once) and back.
set -euo pipefail
bin=${1:?usage: response_cache.sh CITADEL_BINARY}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.bash"
root=$(repo_root)
work=$(mktemp -d)
redis_pid=""
second_pid=""
trap 'stop_server; [ -n "$second_pid" ] && kill "$second_pid" 2>/dev/null; [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null; rm -rf "$work"' EXIT
model="$root/models/stories260K.gguf"
fail() { echo "FAIL: $*"; exit 1; }

cat >"$work/memory.yaml" <<YAML
cache: memory
cache_ttl: 3
audit_log: $work/audit.log
models:
  - id: stories
    path: $model
YAML
start_server "$bin" --config "$work/memory.yaml"
url="http://127.0.0.1:$PORT"
chat='{"messages":[{"role":"user","content":"Tell me a story."}],"max_tokens":24,"temperature":0}'
ask() { curl -s -D "$work/h" "$url/v1/chat/completions" "$@"; }
header() { sed -n 's/^X-Citadel-Cache: \([a-z]*\).*/\1/p' "$work/h" | tr -d '\r'; }
content() { python3 -c 'import json,sys; print(json.load(sys.stdin)["choices"][0]["message"]["content"])'; }

a=$(ask -d "$chat"); [ "$(header)" = miss ] || fail "first request: $(header)"
b=$(ask -d "$chat"); [ "$(header)" = hit ] || fail "second request: $(header)"
[ "$(content <<<"$a")" = "$(content <<<"$b")" ] || fail "the hit answers otherwise"
python3 -c 'import json,sys; u=json.loads(sys.argv[1])["usage"]; assert u["completion_tokens"]==24 and u["prompt_tokens_details"]["cached_tokens"]==u["prompt_tokens"], u' "$b"
echo "ok - miss, then a hit with the same answer and usage"

stream='{"messages":[{"role":"user","content":"Tell me a story."}],"max_tokens":24,"temperature":0,"stream":true}'
strip() { sed -n 's/^data: //p' | python3 -c '
import json, sys
for l in sys.stdin:
    l = l.strip()
    if l == "[DONE]": print(l); continue
    j = json.loads(l); j.pop("id", None); j.pop("created", None); print(json.dumps(j, sort_keys=True))'; }
s1=$(ask -d "$(sed 's/"max_tokens":24/"max_tokens":20/' <<<"$stream")" | strip); [ "$(header)" = miss ] || fail "streamed miss: $(header)"
s2=$(ask -d "$(sed 's/"max_tokens":24/"max_tokens":20/' <<<"$stream")" | strip); [ "$(header)" = hit ] || fail "streamed hit: $(header)"
[ "$s1" = "$s2" ] || fail "a streamed hit sends other chunks"
[ "$(tail -1 <<<"$s2")" = "[DONE]" ] || fail "no [DONE] from the cache"
echo "ok - a streamed hit sends the same chunks and [DONE] ($(wc -l <<<"$s2") events)"

ask -H 'Cache-Control: no-cache' -d "$chat" >/dev/null; [ "$(header)" = bypass ] || fail "no-cache: $(header)"
sampled='{"messages":[{"role":"user","content":"Tell me a story."}],"max_tokens":8,"temperature":0.9}'
ask -d "$sampled" >/dev/null; [ -z "$(header)" ] || fail "a sampled answer without a seed was cached: $(header)"
seeded='{"messages":[{"role":"user","content":"Tell me a story."}],"max_tokens":8,"temperature":0.9,"seed":7}'
x=$(ask -d "$seeded"); [ "$(header)" = miss ] || fail "seeded: $(header)"
y=$(ask -d "$seeded"); [ "$(header)" = hit ] && [ "$(content <<<"$x")" = "$(content <<<"$y")" ] || fail "seeded hit"
echo "ok - no-cache bypasses; sampled answers only with a seed"

sleep 3.2
ask -d "$chat" >/dev/null; [ "$(header)" = miss ] || fail "after the TTL: $(header)"
hits=$(curl -s "$url/metrics" | sed -n 's/^citadel_response_cache_hits_total{model="stories"} //p')
[ "$hits" = 3 ] || fail "citadel_response_cache_hits_total is '$hits', expected 3"
python3 - "$work/audit.log" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
marks = [l["citadel"].get("cache") for l in lines if l["url"]["path"] == "/v1/chat/completions"]
assert marks.count("hit") == 3 and marks.count("miss") >= 4, marks
PY
echo "ok - the TTL expires entries; hits are counted on /metrics and marked in the audit"
stop_server

# Redis shared by two servers.
command -v redis-server >/dev/null || { echo "SKIP: redis-server is not installed (scripts/setup.sh installs it)"; exit 0; }
rport=$(free_port)
start_redis() { redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >"$work/redis.log" 2>&1 & redis_pid=$!;
  for _ in $(seq 1 50); do redis-cli -p "$rport" ping >/dev/null 2>&1 && return; sleep 0.1; done; fail "redis did not start"; }
start_redis
printf 'cache: redis://127.0.0.1:%s/2\nmodels:\n  - id: stories\n    path: %s\n' "$rport" "$model" >"$work/redis.yaml"
start_server "$bin" --config "$work/redis.yaml"
first_url="http://127.0.0.1:$PORT"; first_log=$SERVER_LOG; first_pid=$SERVER_PID
start_server "$bin" --config "$work/redis.yaml"
second_url="http://127.0.0.1:$PORT"; second_pid=$SERVER_PID
url=$first_url; a=$(ask -d "$chat"); [ "$(header)" = miss ] || fail "redis: first server $(header)"
url=$second_url; b=$(ask -d "$chat"); [ "$(header)" = hit ] || fail "redis: the second server did not hit: $(header)"
[ "$(content <<<"$a")" = "$(content <<<"$b")" ] || fail "redis: the shared hit answers otherwise"
echo "ok - two servers share one Redis: a miss on one is a hit on the other"

kill "$redis_pid"; wait "$redis_pid" 2>/dev/null || true; redis_pid=""
url=$first_url
for i in $(seq 1 12); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$url/v1/chat/completions" -d "$(sed "s/a story/story $i/" <<<"$chat")")
  [ "$code" = 200 ] || fail "with Redis down a request got $code"
done
downs=$(grep -c "unavailable" "$first_log" || true)
[ "$downs" = 1 ] || fail "the outage was logged $downs times (want once)"
echo "ok - Redis killed: 12 requests answered uncached, the outage logged once"

start_redis
sleep 1.2
ask -d "$(sed 's/a story/a new story/' <<<"$chat")" >/dev/null
ask -d "$(sed 's/a story/a new story/' <<<"$chat")" >/dev/null; [ "$(header)" = hit ] || fail "Redis back: $(header)"
grep -q "is back" "$first_log" || fail "the recovery is not logged"
echo "ok - Redis back: caching resumes"
SERVER_PID=$first_pid; stop_server
