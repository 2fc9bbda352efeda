#!/usr/bin/env bash
# The Grafana dashboard and the alert rules parse and use only series the server exports (issue 7).
set -euo pipefail
bin=${1:?usage: prometheus_dashboard.sh CITADEL_BINARY}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.bash"
root=$(repo_root)
model="${CITADEL_TEST_MODELS:-$root/../shared/models}/stories260K/stories260K-f32.gguf"
[ -f "$model" ] || model="$root/models/stories260K.gguf"
start_server "$bin" --model "$model" --model-id stories --threads 2
trap stop_server EXIT
curl -sf "http://127.0.0.1:$PORT/metrics" >"$SERVER_LOG.metrics"
python3 - "$root/deploy" "$SERVER_LOG.metrics" <<'PY'
import json, re, sys, pathlib
deploy, metrics = pathlib.Path(sys.argv[1]), sys.argv[2]
exported = {l.split()[2] for l in open(metrics) if l.startswith("# TYPE ")}
# GPU series exist only with an NVIDIA driver; they are declared, so their TYPE lines are always there.
def names(expr):
    expr = re.sub(r'"[^"]*"', '""', expr)  # label values are not names
    out = set()
    for n in re.findall(r"\b((?:citadel|process)_[a-zA-Z0-9_]+)", expr):
        out.add(re.sub(r"_(bucket|sum|count)$", "", n) if re.sub(r"_(bucket|sum|count)$", "", n) in exported else n)
    return out
dash = json.load(open(deploy / "grafana/dashboards/citadel.json"))
exprs = []
def walk(x):
    if isinstance(x, dict):
        for k, v in x.items():
            if k in ("expr", "definition") and isinstance(v, str): exprs.append(v)
            else: walk(v)
    elif isinstance(x, list):
        for v in x: walk(v)
walk(dash)
assert dash["uid"] and dash["panels"], "dashboard without uid or panels"
alerts = re.findall(r"expr: \|?\s*((?:.|\n)*?)(?=\n\s+for:)", open(deploy / "prometheus/alerts.yml").read())
used = set().union(*(names(e) for e in exprs + alerts))
missing = sorted(used - exported)
print(f"dashboard: {len(exprs)} queries; alerts: {len(alerts)} rules; {len(used)} metric names used")
if missing:
    sys.exit("FAIL: not exported by citadel serve: " + ", ".join(missing))
for f in ["grafana/provisioning/datasources/prometheus.yml", "grafana/provisioning/dashboards/citadel.yml"]:
    assert (deploy / f).exists(), f
PY
echo "ok - dashboard and alerts reference only exported metrics"
