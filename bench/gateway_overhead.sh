#!/usr/bin/env bash
# What the gateway costs: requests per second on the bundled model through /generate with API
# keys + the audit trail (group-committed, fsync'd) on, against the same server with none of it,
# alternating rounds in one run so the machine's drift cancels; and the server's CPU time per
# request (from /proc), which other load on the machine disturbs less than wall time. Prints one
# JSON line per round and the medians' ratios on / off.
#   bash bench/gateway_overhead.sh [CITADEL_BINARY] [ROUNDS] [REQUESTS] [CLIENTS]
# GATEWAY_ARGS adds flags to the gateway-on server (e.g. "--config audit-nofsync.yaml").
set -euo pipefail
bin=${1:-build/citadel}
rounds=${2:-3}
requests=${3:-400}
clients=${4:-4}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tests/e2e/lib.bash"
work=$(mktemp -d)
trap 'stop_server; rm -rf "$work"' EXIT
key=$("$bin" keys create --db "$work/keys.db" --role user --name bench --rpm 1000000 --tpm 1000000000 2>/dev/null | tail -1)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }

load() {  # url key label
  local before after
  before=$(cpu_ticks)
  URL=$1 KEY=$2 LABEL=$3 REQUESTS=$requests CLIENTS=$clients python3 - <<'PY' >"$work/round.json"

import http.client, json, os, socket, threading, time, urllib.parse
u = urllib.parse.urlparse(os.environ["URL"])
n, c = int(os.environ["REQUESTS"]), int(os.environ["CLIENTS"])
headers = {"Content-Type": "application/json"}
if os.environ["KEY"]:
    headers["Authorization"] = "Bearer " + os.environ["KEY"]
body = json.dumps({"prompt": "Once upon a time", "max_tokens": 4, "temperature": 0})
lat, lock = [], threading.Lock()
def worker(k):
    conn = http.client.HTTPConnection(u.hostname, u.port)
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle + delayed-ACK stalls
    for _ in range(k):
        t = time.perf_counter()
        conn.request("POST", "/generate", body, headers)
        r = conn.getresponse()
        r.read()
        assert r.status == 200, r.status
        with lock:
            lat.append(time.perf_counter() - t)
t0 = time.perf_counter()
ts = [threading.Thread(target=worker, args=(n // c,)) for _ in range(c)]
[t.start() for t in ts]
[t.join() for t in ts]
wall = time.perf_counter() - t0
lat.sort()
print(json.dumps({"gateway": os.environ["LABEL"], "requests": len(lat), "rps": round(len(lat) / wall, 1),
                  "p50_ms": round(1000 * lat[len(lat) // 2], 2), "p99_ms": round(1000 * lat[int(len(lat) * 0.99)], 2)}))
PY
  after=$(cpu_ticks)
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); r["server_cpu_ms_per_request"]=round((int(sys.argv[2])-int(sys.argv[3]))*1000/int(sys.argv[4])/r["requests"],3); print(json.dumps(r))' \
    "$work/round.json" "$after" "$before" "$(getconf CLK_TCK)"
}

out=$(mktemp)
for r in $(seq 1 "$rounds"); do
  start_server "$bin" --parallel 4
  load "http://127.0.0.1:$PORT" "" off | tee -a "$out"
  stop_server
  start_server "$bin" --parallel 4 --auth-db "$work/keys.db" --audit-log "$work/audit.log" ${GATEWAY_ARGS:-}
  load "http://127.0.0.1:$PORT" "$key" on | tee -a "$out"
  stop_server
done
python3 - "$out" <<'PY'
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1])]
med = lambda field, g: statistics.median(r[field] for r in rows if r["gateway"] == g)
print(json.dumps({"median_rps_on": med("rps", "on"), "median_rps_off": med("rps", "off"),
                  "rps_ratio_on_off": round(med("rps", "on") / med("rps", "off"), 3),
                  "cpu_ms_per_request_on": med("server_cpu_ms_per_request", "on"),
                  "cpu_ms_per_request_off": med("server_cpu_ms_per_request", "off"),
                  "cpu_ratio_on_off": round(med("server_cpu_ms_per_request", "on") / med("server_cpu_ms_per_request", "off"), 3)}))
PY
"$bin" audit verify "$work/audit.log" >&2
