#!/usr/bin/env bash
# Many LoRA adapters over one served model: `serve --lora NAME=FILE` (and YAML), each listed in
# /v1/models as "<model>:<NAME>" and chosen by the request's "model"; two adapters and the base
# asked at once answer exactly as each alone; an adapter made for another model is refused with
# a clear error (at startup and at run time); admins load and unload adapters over HTTP
# (/admin/adapters, admin keys only); adapter use shows in the metrics, the request log and the
# audit trail; a model forwarded to upstream engines (no adapters here) gives clear 4xx answers.
set -euo pipefail
bin=${1:?usage: serve_lora.sh CITADEL_BINARY}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.bash"
root=$(repo_root)
work=$(mktemp -d)
trap 'stop_server; rm -rf "$work"' EXIT
model="$root/models/stories260K.gguf"
data="$root/tests/data/finetune"

# Two small adapters trained here (a few steps each, enough to change the answers), and one for
# another model.
head -30 "$data/bank_train.jsonl" >"$work/bank.jsonl"
head -30 "$data/stories_replay.jsonl" >"$work/story.jsonl"
for a in bank story; do
  "$bin" finetune -m "$model" --data "$work/$a.jsonl" --val-split 0 -o "$work/$a.gguf" --rank 4 --epochs 1 --lr 2e-2 \
    --batch-tokens 256 --no-checkpoint -t 2 2>/dev/null
done
"$bin" synth --shape llama-tiny --type f32 "$work/tiny.gguf" >/dev/null
"$bin" finetune -m "$work/tiny.gguf" --data "$work/bank.jsonl" --val-split 0 -o "$work/tiny-adapter.gguf" --rank 2 \
  --epochs 1 --no-checkpoint -t 2 2>/dev/null

# An adapter that does not fit: the server refuses to start, naming it.
if "$bin" serve --model "$model" --port 0 --lora wrong="$work/tiny-adapter.gguf" >"$work/refused.log" 2>&1; then
  echo "FAIL: the server started with an adapter of another model"; exit 1
fi
grep -q "adapter 'wrong'" "$work/refused.log" && grep -q "another model" "$work/refused.log" ||
  { echo "FAIL: unclear refusal:"; cat "$work/refused.log"; exit 1; }

db="$work/keys.db"
admin=$("$bin" keys create --db "$db" --role admin --name admin 2>/dev/null | tail -1)
user=$("$bin" keys create --db "$db" --role user --name user 2>/dev/null | tail -1)
cat >"$work/serve.yaml" <<EOF
audit_log: $work/audit.log
models:
  - id: stories
    path: $model
    lora:
      story: $work/story.gguf
  - id: remote
    upstreams: [http://127.0.0.1:9]
    connect_timeout: 1
EOF
start_server "$bin" --config "$work/serve.yaml" --lora bank="$work/bank.gguf" --parallel 4 --auth-db "$db" \
  --log-format json
grep -q "adapter 'stories:bank' ready" "$SERVER_LOG" || { echo "FAIL: no ready line:"; cat "$SERVER_LOG"; exit 1; }

URL="http://127.0.0.1:$PORT" ADMIN="$admin" USER_KEY="$user" WORK="$work" python3 - <<'PY'
import json, os, sys, threading, urllib.request, urllib.error
url, admin, user, work = os.environ["URL"], os.environ["ADMIN"], os.environ["USER_KEY"], os.environ["WORK"]

def call(method, path, body=None, key=user):
    req = urllib.request.Request(url + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")

def fail(msg):
    print("FAIL:", msg); sys.exit(1)

status, models = call("GET", "/v1/models")
ids = sorted(m["id"] for m in models["data"])
if ids != ["remote", "stories", "stories:bank", "stories:story"]: fail(f"/v1/models lists {ids}")

def complete(model):
    s, r = call("POST", "/v1/completions", {"model": model, "prompt": "Once upon a time", "max_tokens": 24,
                                            "temperature": 0, "logprobs": 0})
    if s != 200: fail(f"{model}: {s} {r}")
    return r["choices"][0]["logprobs"]["tokens"]

names = ["stories", "stories:bank", "stories:story"]
alone = {m: complete(m) for m in names}
if alone["stories"] == alone["stories:bank"] or alone["stories:bank"] == alone["stories:story"]:
    fail("the adapters do not change the answer")
together, threads = {}, []
for m in names:
    t = threading.Thread(target=lambda m=m: together.__setitem__(m, complete(m)))
    threads.append(t); t.start()
for t in threads: t.join()
for m in names:
    if together[m] != alone[m]: fail(f"{m}: batched with the others it answered {together[m]}, alone {alone[m]}")

s, r = call("POST", "/v1/completions", {"model": "stories:nope", "prompt": "x", "max_tokens": 1})
if s != 404 or "no adapter 'nope'" not in r["error"]["message"]: fail(f"unknown adapter: {s} {r}")

# A model forwarded to upstream engines has no adapters here: clear 4xx, never a crash.
s, r = call("POST", "/v1/completions", {"model": "remote:bank", "prompt": "x", "max_tokens": 1})
if s != 404 or "forwarded to other engines" not in r["error"]["message"]: fail(f"remote:bank: {s} {r}")
s, r = call("POST", "/v1/chat/completions", {"model": "remote:bank", "messages": [{"role": "user", "content": "x"}]})
if s != 404: fail(f"remote:bank (chat): {s} {r}")
s, r = call("POST", "/admin/adapters", {"model": "remote", "name": "x", "path": work + "/bank.gguf"}, admin)
if s != 400 or "forwarded to other engines" not in r["error"]["message"]: fail(f"loading onto remote: {s} {r}")
s, r = call("DELETE", "/admin/adapters/remote:x", None, admin)
if s != 400: fail(f"unloading from remote: {s} {r}")
s, r = call("POST", "/admin/adapters", {"model": "nope", "name": "x", "path": work + "/bank.gguf"}, admin)
if s != 404: fail(f"loading onto an unknown model: {s} {r}")

# Admin API: admins only; a misfit file refused clearly; load, use, unload.
load = {"name": "bank2", "path": work + "/bank.gguf", "scale": 0.5}
s, r = call("POST", "/admin/adapters", load)
if s != 403: fail(f"a user key loaded an adapter: {s} {r}")
s, r = call("POST", "/admin/adapters", {"name": "wrong", "path": work + "/tiny-adapter.gguf"}, admin)
if s != 400 or "another model" not in r["error"]["message"]: fail(f"misfit adapter: {s} {r}")
s, r = call("POST", "/admin/adapters", {"name": "x", "path": work + "/absent.gguf"}, admin)
if s != 400: fail(f"absent file: {s} {r}")
s, r = call("POST", "/admin/adapters", load, admin)
if s != 201 or r["id"] != "stories:bank2" or r["scale"] != 0.5: fail(f"load: {s} {r}")
s, r = call("POST", "/admin/adapters", load, admin)
if s != 409: fail(f"loading a taken name: {s} {r}")
half = complete("stories:bank2")
if half == alone["stories:bank"]: fail("scale 0.5 answers as scale 1")
s, r = call("GET", "/admin/adapters", None, admin)
if sorted(a["id"] for a in r["data"]) != ["stories:bank", "stories:bank2", "stories:story"]: fail(f"list: {r}")
s, r = call("DELETE", "/admin/adapters/stories:bank2", None, user)
if s != 403: fail(f"a user key unloaded an adapter: {s} {r}")
s, r = call("DELETE", "/admin/adapters/stories:bank2", None, admin)
if s != 200: fail(f"unload: {s} {r}")
s, r = call("POST", "/v1/completions", {"model": "stories:bank2", "prompt": "x", "max_tokens": 1})
if s != 404: fail(f"an unloaded adapter answered: {s}")
s, r = call("DELETE", "/admin/adapters/stories:bank2", None, admin)
if s != 404: fail(f"unloading twice: {s}")

req = urllib.request.Request(url + "/metrics", headers={"Authorization": "Bearer " + admin})
metrics = urllib.request.urlopen(req).read().decode()
for want in ['citadel_adapter_requests_total{model="stories",adapter="bank",status="200"} 2',
             'citadel_adapter_generated_tokens_total{model="stories",adapter="story"} 48',
             'citadel_adapters_loaded{model="stories"} 2']:
    if want not in metrics: fail("metrics lack " + want + ":\n" + "\n".join(l for l in metrics.splitlines() if "adapter" in l))
print("adapters ok")
PY
grep -q '"adapter":"bank"' "$SERVER_LOG" || { echo "FAIL: the request log does not name the adapter"; exit 1; }
# The audit trail names "<model>:<adapter>" on the completions, and the admin's load and unload.
grep '"/v1/completions"' "$work/audit.log" | grep -q '"model":"stories:story"' ||
  { echo "FAIL: the audit trail does not name the adapter:"; tail -3 "$work/audit.log"; exit 1; }
grep '"/admin/adapters"' "$work/audit.log" | grep '"method":"POST"' | grep -q '"status_code":201' ||
  { echo "FAIL: the audit trail lacks the adapter load"; exit 1; }
grep '"/admin/adapters/stories:bank2"' "$work/audit.log" | grep '"method":"DELETE"' | grep -q '"status_code":200' ||
  { echo "FAIL: the audit trail lacks the adapter unload"; exit 1; }
echo "PASS serve_lora"
