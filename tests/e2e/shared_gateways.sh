#!/usr/bin/env bash
# Two gateway replicas sharing state: API keys and usage in a real PostgreSQL (auth_db:
# postgresql://...), rate limits in a real Redis (redis_url). A key with --rpm 10 gets exactly
# 10 requests a minute summed over both gateways (the 11th is a 429 with Retry-After, on either);
# a key revoked through one gateway's admin API is refused by the other at once; /admin/usage
# shows the requests of both. Outages: PostgreSQL stopped -> 503 + Retry-After (no crash, logged
# once, no password in any log), back -> served again over fresh connections; Redis stopped ->
# 503 for keys with limits (fail closed), back -> counted again.
set -euo pipefail
bin=${1:?usage: shared_gateways.sh CITADEL_BINARY}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.bash"
root=$(repo_root)
model="$root/models/stories260K.gguf"
fail() { echo "FAIL: $*"; for l in "${logs[@]}"; do echo "--- $l"; tail -20 "$l"; done; exit 1; }

command -v redis-server >/dev/null || { echo "SKIP: redis-server is not installed (scripts/setup.sh installs it)"; exit 77; }
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
[ -n "$pgbin" ] && [ -x "$pgbin/initdb" ] || { echo "SKIP: PostgreSQL's server (initdb, pg_ctl) is not installed (scripts/setup.sh installs it)"; exit 77; }

work=$(mktemp -d)
chmod 755 "$work"
logs=()
pids=()
redis_pid=""
# PostgreSQL refuses to run as root: then it runs as nobody.
as_pg() { "$@"; }
if [ "$(id -u)" = 0 ]; then
  id nobody >/dev/null 2>&1 || { echo "SKIP: running as root and there is no user 'nobody' to run PostgreSQL"; exit 77; }
  as_pg() { (cd "$work" && setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups -- "$@"); }
fi
pgrun="$work/pg"  # the server's directory (owned by the user it runs as): data, socket, log
pgdata="$pgrun/data"
pg_stop() { as_pg "$pgbin/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null 2>&1 || true; }
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null
  pg_stop
  rm -rf "$work"
}
trap cleanup EXIT

# PostgreSQL on a free port, password authentication over TCP (the URL carries the password).
password="pw-$RANDOM-s3cret"
mkdir -p "$pgrun"
printf '%s\n' "$password" >"$pgrun/pwfile"
if [ "$(id -u)" = 0 ]; then chown -R nobody "$pgrun"; fi
as_pg "$pgbin/initdb" -D "$pgdata" -U citadel --pwfile="$pgrun/pwfile" --auth-host=scram-sha-256 --auth-local=trust \
  -E UTF8 >"$work/initdb.log" 2>&1 || { echo "SKIP: initdb failed:"; tail -5 "$work/initdb.log"; exit 77; }
pgport=$(free_port)
pg_start() {
  as_pg "$pgbin/pg_ctl" -D "$pgdata" -l "$pgrun/pg.log" -w -t 30 \
    -o "-p $pgport -k $pgrun -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
}
pg_start || { echo "SKIP: PostgreSQL did not start:"; tail -5 "$pgrun/pg.log"; exit 77; }
logs+=("$pgrun/pg.log")
as_pg "$pgbin/createdb" -h "$pgrun" -p "$pgport" -U citadel citadel_keys
db="postgresql://citadel:$password@127.0.0.1:$pgport/citadel_keys"
echo "ok - PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') on port $pgport"

rport=$(free_port)
start_redis() {
  redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
  redis_pid=$!
  for _ in $(seq 1 50); do redis-cli -p "$rport" ping >/dev/null 2>&1 && return; sleep 0.1; done
  fail "redis did not start"
}
start_redis

key() { "$bin" keys create --db "$db" "$@" 2>/dev/null | tail -1; }
limited=$(key --name "ten-a-minute" --rpm 10)
admin=$(key --name "admin" --role admin)
[[ $limited == ctd_* && $admin == ctd_* ]] || fail "citadel keys create --db postgresql://... printed no key"
"$bin" keys list --db "$db" | grep -q "ten-a-minute.*rpm=10" || fail "keys list does not show the key"
echo "ok - citadel keys create/list --db postgresql://..."

# Two gateways, each serving the model itself, sharing the key database and Redis.
printf 'auth_db: %s\nredis_url: redis://127.0.0.1:%s/5\nmodels:\n  - id: stories\n    path: %s\n' \
  "$db" "$rport" "$model" >"$work/gateway.yaml"
start_server "$bin" --config "$work/gateway.yaml"
a="http://127.0.0.1:$PORT"; pids+=("$SERVER_PID"); logs+=("$SERVER_LOG"); log_a=$SERVER_LOG
CITADEL_AUTH_DB="$db" start_server "$bin" --model "$model" --redis-url "redis://127.0.0.1:$rport/5"
b="http://127.0.0.1:$PORT"; pids+=("$SERVER_PID"); logs+=("$SERVER_LOG"); log_b=$SERVER_LOG
grep -q "rate limits and quotas counted in Redis" "$log_a" || fail "gateway A does not say where limits are counted"

A=$a B=$b LIMITED=$limited ADMIN=$admin python3 - <<'PY'
import json, os, sys, urllib.request, urllib.error
A, B, limited, admin = os.environ["A"], os.environ["B"], os.environ["LIMITED"], os.environ["ADMIN"]

def call(base, method, path, key, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + key)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, dict(r.headers), json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read() or b"null")

def fail(msg):
    print("FAIL:", msg); sys.exit(1)

gen = {"prompt": "Once upon a time", "max_tokens": 2}
codes = []
for i in range(12):
    code, headers, body = call([A, B][i % 2], "POST", "/v1/completions", limited, gen)
    codes.append(code)
    if i < 10 and code != 200: fail(f"request {i + 1} got {code}: {body}")
    if i >= 10:
        if code != 429: fail(f"request {i + 1} (gateway {'AB'[i % 2]}) got {code}, want 429: {body}")
        ra = headers.get("Retry-After")
        if not ra or not 1 <= int(ra) <= 60: fail(f"429 without a Retry-After in 1..60: {ra}")
        if body["error"]["code"] != "rate_limit_exceeded": fail(body)
print("ok - rpm 10 over two gateways: requests 1-10 -> 200, 11 (A) and 12 (B) -> 429 with Retry-After", ra)

code, _, usage = call(B, "GET", "/admin/usage", admin)
if code != 200: fail(f"/admin/usage {code}")
kid = limited[4:16]
rows = [u for u in usage["data"] if u["key_id"] == kid] if isinstance(usage, dict) else [u for u in usage if u["key_id"] == kid]
if len(rows) != 1 or rows[0]["requests"] != 10 or rows[0]["refusals"] != 2 or rows[0]["total_tokens"] <= 0:
    fail(f"/admin/usage on B: {rows}")
print("ok - /admin/usage (asked of B) counts both gateways:", {k: rows[0][k] for k in ("requests", "refusals", "total_tokens")})

code, _, made = call(A, "POST", "/admin/keys", admin, {"name": "made-on-A", "role": "user", "rpm": 1000})
if code != 201: fail(f"POST /admin/keys on A: {code} {made}")
new_key, new_id = made["key"], made["id"]
if call(B, "POST", "/v1/completions", new_key, gen)[0] != 200: fail("a key made on A does not work on B")
code, _, _ = call(A, "DELETE", "/admin/keys/" + new_id, admin)
if code != 200: fail(f"DELETE /admin/keys on A: {code}")
code, _, body = call(B, "POST", "/v1/completions", new_key, gen)
if code != 401: fail(f"the key revoked on A got {code} on B: {body}")
print("ok - a key made on A works on B; revoked on A, B refuses it (401) at once")
PY

# PostgreSQL down: 503 + Retry-After, never a crash; back: served again over new connections.
spare=$(key --name "spare" --rpm 1000)
pg_stop
for url in "$a" "$b" "$a"; do
  hdr=$(curl -s -D - -o "$work/body" "$url/v1/completions" -H "Authorization: Bearer $spare" -d '{"prompt":"Once","max_tokens":2}')
  code=$(awk 'NR==1{print $2}' <<<"$hdr")
  [ "$code" = 503 ] || fail "PostgreSQL down: $code $(cat "$work/body")"
  grep -qi '^retry-after: 1' <<<"$hdr" || fail "PostgreSQL down: no Retry-After"
  grep -q backend_unavailable "$work/body" || fail "PostgreSQL down: $(cat "$work/body")"
done
curl -sf "$a/health" >/dev/null && curl -sf "$b/health" >/dev/null || fail "a gateway died with PostgreSQL down"
[ "$(grep -c "key database .* unavailable" "$log_a")" = 1 ] || fail "the outage is not logged once on A: $(grep -c unavailable "$log_a")"
pg_start || fail "PostgreSQL did not start again"
sleep 1.1  # past the second during which a down backend is not tried
for url in "$a" "$b"; do
  code=$(curl -s -o "$work/body" -w '%{http_code}' "$url/v1/completions" -H "Authorization: Bearer $spare" -d '{"prompt":"Once","max_tokens":2}')
  [ "$code" = 200 ] || fail "PostgreSQL back: $code $(cat "$work/body")"
done
grep -q "key database .* is back" "$log_a" || fail "the recovery is not logged"
echo "ok - PostgreSQL stopped: 503 + Retry-After: 1 on both gateways, logged once; restarted: served again"

# Redis down: keys with limits get 503 (fail closed); back: counted again.
kill "$redis_pid"; wait "$redis_pid" 2>/dev/null || true; redis_pid=""
code=$(curl -s -o "$work/body" -w '%{http_code}' "$b/v1/completions" -H "Authorization: Bearer $spare" -d '{"prompt":"Once","max_tokens":2}')
[ "$code" = 503 ] || fail "Redis down: $code $(cat "$work/body")"
grep -q "rate limits redis://.* unavailable" "$log_b" || fail "the Redis outage is not logged"
start_redis
sleep 1.1
code=$(curl -s -o "$work/body" -w '%{http_code}' "$b/v1/completions" -H "Authorization: Bearer $spare" -d '{"prompt":"Once","max_tokens":2}')
[ "$code" = 200 ] || fail "Redis back: $code $(cat "$work/body")"
echo "ok - Redis stopped: 503 for keys with limits (fail closed); restarted: counted again"

for l in "$log_a" "$log_b"; do
  grep -q -- "$password" "$l" && fail "the database password appears in $l"
  grep -q "postgresql://citadel:\*\*\*@" "$l" || fail "$l does not name the database (without its password)"
done
echo "ok - no password in the gateways' logs"
