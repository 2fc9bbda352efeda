#!/usr/bin/env bash
# Keys, roles and quotas over HTTP (serve --auth-db): every route x every kind of caller gets
# exactly its status; quotas trip at the exact count with the right Retry-After, hold summed over
# two server processes sharing the database and survive a restart; hostile headers and key
# names are clean errors; the audit trail verifies and no key appears in any log.
set -euo pipefail
bin=${1:?usage: auth_routes.sh CITADEL_BINARY}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.bash"
root=$(repo_root)
work=$(mktemp -d)
pids=()
trap 'stop_server; for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
db="$work/keys.db"
model="$root/models/stories260K.gguf"
key() { "$bin" keys create --db "$db" "$@" 2>/dev/null | tail -1; }
user=$(key --role user --name "user" --models stories260K)
other=$(key --role user --name "user-other-model" --models some-other-model)
expired=$(key --role user --name "expired" --expires 1s)
disabled=$(key --role user --name "disabled")
auditor=$(key --role auditor --name "auditor")
admin=$(key --role admin --name "admin")
"$bin" keys disable --db "$db" "$(cut -c5-16 <<<"$disabled")" >/dev/null
sleep 1.2  # the expired key's second passes

start_server "$bin" --model "$model" --auth-db "$db" --audit-log "$work/audit.log" --audit-content hmac \
  --audit-hmac-key-file <(printf 'audit-secret-of-some-length') --log-format json
url="http://127.0.0.1:$PORT"
grep -q "API keys required" "$SERVER_LOG" || { echo "FAIL: the server did not say keys are on"; exit 1; }

URL="$url" USER_KEY="$user" OTHER="$other" EXPIRED="$expired" DISABLED="$disabled" AUDITOR="$auditor" ADMIN="$admin" \
python3 - <<'PY'
import json, os, sys, urllib.request, urllib.error
url = os.environ["URL"]
callers = {
    "none": None, "wrong": "ctd_000000000000_" + "A" * 43, "user": os.environ["USER_KEY"],
    "user-no-model": os.environ["OTHER"], "expired": os.environ["EXPIRED"], "disabled": os.environ["DISABLED"],
    "auditor": os.environ["AUDITOR"], "admin": os.environ["ADMIN"],
}
order = list(callers)
chat = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2, "temperature": 0}
routes = [
    # method, path, body, statuses in the order of `callers`
    ("GET", "/health", None, [200] * 8),
    ("GET", "/", None, [200] * 8),
    ("GET", "/metrics", None, [401, 401, 403, 403, 403, 403, 200, 200]),
    ("GET", "/v1/models", None, [401, 401, 200, 200, 403, 403, 200, 200]),
    ("POST", "/v1/chat/completions", chat, [401, 401, 200, 403, 403, 403, 403, 403]),
    ("POST", "/v1/completions", {"prompt": "Once", "max_tokens": 2}, [401, 401, 200, 403, 403, 403, 403, 403]),
    ("POST", "/generate", {"prompt": "Once", "max_tokens": 2}, [401, 401, 200, 403, 403, 403, 403, 403]),
    ("POST", "/v1/embeddings", {"input": "Once"}, [401, 401, 200, 403, 403, 403, 403, 403]),
    ("POST", "/tokenize", {"content": "Once"}, [401, 401, 200, 403, 403, 403, 403, 403]),
    ("POST", "/detokenize", {"tokens": [1, 2]}, [401, 401, 200, 403, 403, 403, 403, 403]),
    ("GET", "/admin/keys", None, [401, 401, 403, 403, 403, 403, 403, 200]),
    ("POST", "/admin/keys", {"name": "made-over-http", "role": "user"}, [401, 401, 403, 403, 403, 403, 403, 201]),
    ("DELETE", "/admin/keys/0123456789ab", None, [401, 401, 403, 403, 403, 403, 403, 404]),
    ("GET", "/admin/usage", None, [401, 401, 403, 403, 403, 403, 200, 200]),
    ("GET", "/admin/audit", None, [401, 401, 403, 403, 403, 403, 200, 200]),
    ("GET", "/admin/audit/verify", None, [401, 401, 403, 403, 403, 403, 200, 200]),
]
def call(method, path, body, key, header="Authorization"):
    req = urllib.request.Request(url + path, method=method, data=None if body is None else json.dumps(body).encode())
    if key is not None:
        req.add_header(header, ("Bearer " + key) if header == "Authorization" else key)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers
failed = 0
for method, path, body, want in routes:
    for who, status in zip(order, want):
        got, text, headers = call(method, path, body, callers[who])
        ok = got == status
        if ok and got in (401, 403):
            err = json.loads(text).get("error", {})
            ok = bool(err.get("message")) and err.get("type") in ("authentication_error", "permission_error")
            ok = ok and (got != 401 or headers.get("WWW-Authenticate") == "Bearer")
        if not ok:
            failed += 1
            print(f"FAIL {method} {path} as {who}: {got} (want {status}) {text[:200]!r}")
print(f"{'ok  ' if not failed else 'FAIL'} route x caller table: {len(routes) * len(order) - failed} of {len(routes) * len(order)}")
# /v1/models lists only the models a key may use.
models = lambda who: [m["id"] for m in json.loads(call("GET", "/v1/models", None, callers[who])[1])["data"]]
assert models("user") == ["stories260K"] and models("user-no-model") == [] and models("admin") == ["stories260K"], models("user")
# x-api-key works as well as Authorization (Anthropic's clients send it).
assert call("POST", "/generate", {"prompt": "Once", "max_tokens": 2}, callers["user"], "x-api-key")[0] == 200
assert call("POST", "/generate", {"prompt": "Once", "max_tokens": 2}, "nope", "x-api-key")[0] == 401
# Malformed Authorization headers: 401, and the server stays up.
for bad in ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer a b", "bearer\t" + callers["user"], "Bearer " + "A" * 2000,
            "Bearer " + callers["user"] + "\u00e9".encode().decode("latin-1")]:
    req = urllib.request.Request(url + "/generate", method="POST", data=b'{"prompt":"x","max_tokens":1}')
    req.add_header("Authorization", bad)
    try:
        code = urllib.request.urlopen(req, timeout=10).status
    except urllib.error.HTTPError as e:
        code = e.code
    assert code == 401, (bad[:40], code)
# SQL meta-characters in a key name are data.
code, text, _ = call("POST", "/admin/keys", {"name": "x'); DROP TABLE api_keys;--", "role": "auditor"}, callers["admin"])
assert code == 201, text
made = json.loads(text)
assert made["name"] == "x'); DROP TABLE api_keys;--" and made["key"].startswith("ctd_")
assert call("GET", "/admin/keys", None, callers["admin"])[0] == 200
assert call("GET", "/admin/usage", None, made["key"])[0] == 200, "the key made over HTTP works"
assert call("DELETE", "/admin/keys/" + made["id"], None, callers["admin"])[0] == 200
assert call("GET", "/admin/usage", None, made["key"])[0] == 401, "a revoked key is refused"
code, text, _ = call("POST", "/admin/keys", {"name": "", "role": "root"}, callers["admin"])
assert code == 400 and json.loads(text)["error"]["message"], text
print("ok   models per key, x-api-key, malformed headers, hostile key names, revocation")
sys.exit(1 if failed else 0)
PY
# A 10 KB key in the header: a clean 4xx (httplib or the gateway), the server still answers.
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(head -c 10240 /dev/zero | tr '\0' A)" \
  "$url/generate" -d '{"prompt":"x","max_tokens":1}')
[[ "$code" =~ ^4 ]] || { echo "FAIL: a 10 KB key got $code"; exit 1; }
curl -sf "$url/health" >/dev/null || { echo "FAIL: the server died on a 10 KB key"; exit 1; }
echo "ok   a 10 KB key is refused ($code) and the server lives on"

# Quotas: a key with 3 requests per minute, then two server processes on one database.
quota=$(key --role user --name quota --rpm 3)
codes=""
for _ in 1 2 3 4; do
  codes+="$(curl -s -o "$work/q.out" -D "$work/q.h" -w '%{http_code}' -H "Authorization: Bearer $quota" "$url/generate" \
    -d '{"prompt":"Once","max_tokens":2}') "
done
[ "$codes" = "200 200 200 429 " ] || { echo "FAIL: rpm 3 gave $codes"; exit 1; }
retry=$(sed -n 's/^Retry-After: \([0-9]*\).*/\1/p' "$work/q.h" | tr -d '\r')
[ -n "$retry" ] && [ "$retry" -ge 55 ] && [ "$retry" -le 60 ] || { echo "FAIL: Retry-After '$retry'"; exit 1; }
grep -q '"rate_limit_exceeded"' "$work/q.out" || { echo "FAIL: 429 body $(cat "$work/q.out")"; exit 1; }
refusals=$(curl -s -H "Authorization: Bearer $auditor" "$url/metrics" | sed -n 's/^citadel_rate_limit_refusals_total //p')
[ "$refusals" -ge 1 ] || { echo "FAIL: citadel_rate_limit_refusals_total is '$refusals'"; exit 1; }
echo "ok   requests per minute trip at exactly 3, Retry-After $retry s, counted on /metrics"

tokens=$(key --role user --name tokens --tpm 30)
n=0
for _ in $(seq 1 10); do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tokens" "$url/generate" -d '{"prompt":"Once upon a time","max_tokens":8}')
  [ "$code" = 200 ] || break
  n=$((n + 1))
done
# Each request uses 5 prompt + 8 completion = 13 tokens: 0, 13, 26 < 30 admit three; 39 >= 30 refuses the fourth.
[ "$n" = 3 ] || { echo "FAIL: tpm 30 admitted $n requests of 13 tokens (want 3)"; exit 1; }
echo "ok   tokens per minute trip at the exact count (3 x 13 tokens under 30)"

shared=$(key --role user --name shared --rpm 6)
stop_server
first_log=$SERVER_LOG
start_server "$bin" --model "$model" --auth-db "$db"
port_a=$PORT; pid_a=$SERVER_PID; pids+=("$pid_a")
start_server "$bin" --model "$model" --auth-db "$db"
port_b=$PORT
ok=0
for i in $(seq 1 10); do
  port=$port_a; [ $((i % 2)) = 0 ] && port=$port_b
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $shared" "http://127.0.0.1:$port/generate" \
    -d '{"prompt":"Once","max_tokens":1}')
  [ "$code" = 200 ] && ok=$((ok + 1))
done
[ "$ok" = 6 ] || { echo "FAIL: two servers on one database admitted $ok of rpm 6"; exit 1; }
stop_server
kill -TERM "$pid_a"; wait "$pid_a" 2>/dev/null || true
start_server "$bin" --model "$model" --auth-db "$db"  # restarted: the minute's count is still there
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $shared" "http://127.0.0.1:$PORT/generate" -d '{"prompt":"Once","max_tokens":1}')
[ "$code" = 429 ] || { echo "FAIL: after a restart the key got $code (want 429)"; exit 1; }
echo "ok   rpm 6 holds summed over two server processes on one database, and across a restart"
usage=$("$bin" keys usage --db "$db" --key "$(cut -c5-16 <<<"$shared")" --json)
python3 -c 'import json,sys; u=json.loads(sys.argv[1]); assert u[0]["requests"]==6 and u[0]["refusals"]==5, u' "$usage"
stop_server

# The audit trail: intact, one line per API call, and no key anywhere in the logs.
"$bin" audit verify "$work/audit.log" >/dev/null || { echo "FAIL: audit verify"; exit 1; }
lines=$(wc -l <"$work/audit.log")
[ "$lines" -gt 100 ] || { echo "FAIL: only $lines audit lines"; exit 1; }
for k in "$user" "$other" "$expired" "$disabled" "$auditor" "$admin" "$quota" "$tokens" "$shared"; do
  secret=${k:17}
  if grep -rqF -- "$secret" "$work/audit.log" "$first_log" "$SERVER_LOG"; then echo "FAIL: a key's secret is in the logs"; exit 1; fi
done
python3 - "$work/audit.log" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
refused = [l for l in lines if l["http"]["response"]["status_code"] in (401, 403, 429)]
assert refused and all(l["event"]["outcome"] == "failure" for l in refused)
chat = [l for l in lines if l["url"]["path"] == "/v1/chat/completions" and l["http"]["response"]["status_code"] == 200]
assert chat and chat[0]["user"]["roles"] == ["user"] and chat[0]["citadel"]["usage"]["completion_tokens"] == 2, chat[:1]
assert len(chat[0]["citadel"]["content"]["prompt"][0]) == 64, "hmac mode keeps HMACs"
assert all("@timestamp" in l and "client" in l and l["citadel"]["audit"]["prev"] for l in lines)
PY
# An auditor holding a suspect prompt ("Hi") finds whether it was sent, by its HMAC.
hmac=$("$bin" audit hmac --key-file <(printf 'audit-secret-of-some-length') --text Hi)
grep -q "\"$hmac\"" "$work/audit.log" || { echo "FAIL: the prompt's HMAC is not in the trail"; exit 1; }
if grep -q '"Hi"' "$work/audit.log"; then echo "FAIL: hmac mode kept a prompt's text"; exit 1; fi
echo "ok   audit trail intact ($lines lines), refusals included, prompts found by HMAC, no key in any log"
