#!/usr/bin/env bash
# A real Prometheus scrapes a real citadel serve (issue 7): the series it stores have the values the
# requests made imply. Also checks the metrics key, X-Request-Id and the JSON request log.
set -euo pipefail
bin=${1:?usage: prometheus.sh CITADEL_BINARY}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.bash"
root=$(repo_root)
command -v prometheus >/dev/null || { echo "SKIP: prometheus is not installed (apt-get install prometheus)"; exit 77; }
model="${CITADEL_TEST_MODELS:-$root/../shared/models}/stories260K/stories260K-f32.gguf"
[ -f "$model" ] || model="$root/models/stories260K.gguf"

key=e2e-metrics-key
start_server "$bin" --model "$model" --model-id stories --parallel 4 --threads 2 --log-format json --metrics-key "$key"
work=$(mktemp -d)
PROM_PID=
cleanup() {
  if [ -n "$PROM_PID" ]; then kill -TERM "$PROM_PID" 2>/dev/null || true; wait "$PROM_PID" 2>/dev/null || true; fi
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT
base="http://127.0.0.1:$PORT"

# The key guards /metrics.
code=$(curl -s -o /dev/null -w '%{http_code}' "$base/metrics")
[ "$code" = 401 ] || { echo "FAIL: /metrics without the key gave $code, want 401"; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer wrong" "$base/metrics")
[ "$code" = 401 ] || { echo "FAIL: /metrics with a wrong key gave $code, want 401"; exit 1; }
# Read the whole body first: `curl | grep -q` under pipefail fails when grep exits before curl ends.
metrics=$(curl -sf -H "Authorization: Bearer $key" "$base/metrics") || metrics=""
grep -q '^# TYPE citadel_http_requests_total counter$' <<<"$metrics" \
  || { echo "FAIL: /metrics with the key"; exit 1; }
echo "ok - /metrics needs the key"

# Traffic: 3 chat, 2 streamed chat, 2 /generate (one with our own request id), 1 unknown model (404).
python3 - "$base" "$work/usage.json" <<'PY'
import json, sys, urllib.request, urllib.error
base, out = sys.argv[1], sys.argv[2]
def post(path, body, headers={}):
    req = urllib.request.Request(base + path, json.dumps(body).encode(), {"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)
completion = 0
msgs = [{"role": "user", "content": "Tell me a story"}]
for _ in range(3):
    s, body, h = post("/v1/chat/completions", {"messages": msgs, "max_tokens": 16, "temperature": 0})
    assert s == 200, body
    assert len(h.get("X-Request-Id", "")) == 16, h
    completion += json.loads(body)["usage"]["completion_tokens"]
for _ in range(2):
    s, body, h = post("/v1/chat/completions", {"messages": msgs, "max_tokens": 16, "stream": True,
                                                "stream_options": {"include_usage": True}})
    assert s == 200, body
    usage = [json.loads(l[6:]) for l in body.splitlines() if l.startswith("data: {")][-1]["usage"]
    completion += usage["completion_tokens"]
s, body, h = post("/generate", {"prompt": "Once upon a time", "max_tokens": 8})
assert s == 200, body
completion += json.loads(body)["usage"]["completion_tokens"]
s, body, h = post("/generate", {"prompt": "Once upon a time", "max_tokens": 8}, {"X-Request-Id": "e2e-req-42"})
assert s == 200 and h.get("X-Request-Id") == "e2e-req-42", (s, h)
completion += json.loads(body)["usage"]["completion_tokens"]
s, body, h = post("/v1/chat/completions", {"model": "no-such-model", "messages": msgs})
assert s == 404, (s, body)
json.dump({"completion_tokens": completion}, open(out, "w"))
PY
echo "ok - traffic sent, X-Request-Id honoured"

# The JSON log has one line per request, joinable on the request id.
python3 - "$SERVER_LOG" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
mine = [l for l in lines if l["request_id"] == "e2e-req-42"]
assert len(mine) == 1, lines
l = mine[0]
assert l["method"] == "POST" and l["path"] == "/generate" and l["status"] == 200 and l["model"] == "stories", l
assert l["completion_tokens"] > 0 and l["prompt_tokens"] > 0 and l["duration_ms"] > 0, l
assert sum(1 for l in lines if l["path"] == "/v1/chat/completions") == 6, lines
assert any(l["status"] == 404 and l["model"] is None for l in lines), lines
PY
echo "ok - JSON request log"

# Prometheus on loopback scrapes every second, with the alert rules loaded.
pport=$(free_port)
cp "$root/deploy/prometheus/alerts.yml" "$work/alerts.yml"
printf '%s' "$key" >"$work/key"
cat >"$work/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [alerts.yml]
scrape_configs:
  - job_name: citadel
    authorization:
      type: Bearer
      credentials_file: $work/key
    static_configs:
      - targets: ["127.0.0.1:$PORT"]
YML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --web.listen-address="127.0.0.1:$pport" >"$work/prometheus.log" 2>&1 &
PROM_PID=$!

PROM="http://127.0.0.1:$pport" USAGE="$work/usage.json" ALERTS="$work/alerts.yml" python3 - <<'PY' || { echo "--- prometheus log"; tail -20 "$work/prometheus.log"; exit 1; }
import json, os, sys, time, urllib.parse, urllib.request
prom = os.environ["PROM"]
completion = json.load(open(os.environ["USAGE"]))["completion_tokens"]
def query(expr):
    url = prom + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=5) as r:
        data = json.load(r)
    assert data["status"] == "success", data
    return [(s["metric"], float(s["value"][1])) for s in data["data"]["result"]]
def one(expr):
    r = query(expr)
    assert len(r) == 1, (expr, r)
    return r[0][1]
deadline = time.time() + 60
while True:
    try:
        if query('up{job="citadel"} == 1') and query('citadel_http_requests_total{endpoint="/generate"}'):
            break
    except Exception:
        pass
    if time.time() > deadline:
        sys.exit("FAIL: Prometheus did not scrape citadel within 60 s")
    time.sleep(0.5)
checks = {
    'sum(citadel_http_requests_total{endpoint="/v1/chat/completions",model="stories",status="200"})': lambda v: v == 5,
    'sum(citadel_http_requests_total{endpoint="/generate",model="stories",status="200"})': lambda v: v == 2,
    'sum(citadel_http_requests_total{endpoint="/v1/chat/completions",status="404"})': lambda v: v == 1,
    'sum(citadel_request_duration_seconds_count{endpoint="/v1/chat/completions",model="stories"})': lambda v: v == 5,
    'sum(citadel_request_duration_seconds_sum{endpoint="/v1/chat/completions",model="stories"})': lambda v: v > 0,
    'citadel_request_duration_seconds_bucket{endpoint="/generate",model="stories",le="+Inf"}': lambda v: v == 2,
    'citadel_time_to_first_token_seconds_count{model="stories"}': lambda v: v == 7,
    'citadel_time_to_first_token_seconds_sum{model="stories"}': lambda v: v > 0,
    'citadel_time_per_output_token_seconds_sum{model="stories"}': lambda v: v > 0,
    'citadel_queue_wait_seconds_count{model="stories"}': lambda v: v == 7,
    'citadel_generated_tokens_total{model="stories"}': lambda v: v == completion,
    'citadel_prompt_tokens_total{model="stories"}': lambda v: v > 0,
    'citadel_kv_cache_blocks_total{model="stories"}': lambda v: v > 0,
    'citadel_kv_cache_blocks_used{model="stories"}': lambda v: v >= 0,
    'citadel_requests_running{model="stories"}': lambda v: v == 0,
    'citadel_requests_waiting{model="stories"}': lambda v: v == 0,
    'citadel_prefix_cache_hit_ratio{model="stories"}': lambda v: 0 <= v <= 1,
    'citadel_model_load_seconds{model="stories"}': lambda v: v > 0,
    'citadel_response_cache_hits_total': lambda v: v == 0,
    'citadel_rate_limit_refusals_total': lambda v: v == 0,
    'citadel_build_info': lambda v: v == 1,
    'process_cpu_seconds_total{job="citadel"}': lambda v: v > 0,
    'process_resident_memory_bytes{job="citadel"}': lambda v: v > 1e6,
    'histogram_quantile(0.5, sum by (le) (citadel_request_duration_seconds_bucket{endpoint="/v1/chat/completions"}))': lambda v: v > 0,
}
failed = False
for expr, ok in checks.items():
    v = one(expr)
    good = ok(v)
    failed |= not good
    print(("ok   " if good else "FAIL ") + f"{expr} = {v:g}")
gpus = query("citadel_gpu_memory_total_bytes")
has_driver = os.path.exists("/proc/driver/nvidia/version")
print(f"{'ok  ' if bool(gpus) == has_driver else 'FAIL'} GPU series {'present' if gpus else 'absent'} (NVIDIA driver {'present' if has_driver else 'absent'})")
failed |= bool(gpus) != has_driver
with urllib.request.urlopen(prom + "/api/v1/rules", timeout=5) as r:
    rules = [rule["name"] for g in json.load(r)["data"]["groups"] for rule in g["rules"]]
want_rules = open(os.environ["ALERTS"]).read().count("- alert:")
print(f"{'ok  ' if len(rules) == want_rules else 'FAIL'} Prometheus loaded {len(rules)} of {want_rules} alert rules: {', '.join(rules)}")
failed |= len(rules) != want_rules
sys.exit(1 if failed else 0)
PY
echo "ok - Prometheus stored the expected series"
