#!/usr/bin/env bash
# PII policies per key and per model over HTTP: under redact-input the model sees placeholders
# (its answer is the one it gives to the placeholder text itself), logs and the audit never hold
# the raw values, the cache keys on the redacted text; log-only leaves the model's input alone but
# keeps the audit clean and the answer out of the cache; a model's policy binds every key.
set -euo pipefail
bin=${1:?usage: pii_policy.sh CITADEL_BINARY}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.bash"
root=$(repo_root)
work=$(mktemp -d)
trap 'stop_server; rm -rf "$work"' EXIT
model="$root/models/stories260K.gguf"
fail() { echo "FAIL: $*"; exit 1; }
db="$work/keys.db"
key() { "$bin" keys create --db "$db" --role user "$@" 2>/dev/null | tail -1; }
plain=$(key --name plain)
redact=$(key --name redacting --pii-policy redact-input)
logonly=$(key --name logging --pii-policy log-only)
cat >"$work/citadel.yaml" <<YAML
auth_db: $db
audit_log: $work/audit.log
audit_content: text
cache: memory
log_format: json
models:
  - id: stories
    path: $model
  - id: strict
    path: $model
    pii_policy: redact-both
YAML
start_server "$bin" --config "$work/citadel.yaml"
url="http://127.0.0.1:$PORT"
phone=13812345678
ask() {  # key model content -> body; headers in $work/h
  curl -s -D "$work/h" -H "Authorization: Bearer $1" "$url/v1/chat/completions" \
    -d "{\"model\":\"$2\",\"messages\":[{\"role\":\"user\",\"content\":\"$3\"}],\"max_tokens\":16,\"temperature\":0}"
}
answer() { python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["choices"][0]["message"]["content"], j["usage"]["prompt_tokens"])'; }

with_pii=$(ask "$redact" stories "Call Tom on $phone about the dog." | answer)
as_placeholder=$(ask "$plain" stories "Call Tom on [PHONE_1] about the dog." | answer)
raw=$(ask "$plain" stories "Call Tom on $phone about the dog." | answer)
[ "$with_pii" = "$as_placeholder" ] || fail "redact-input: the model did not see the placeholder ($with_pii | $as_placeholder)"
[ "$with_pii" != "$raw" ] || fail "redact-input: the answer is the raw prompt's"
echo "ok - redact-input: the model sees [PHONE_1] (same answer and prompt tokens as that text)"

# The cache keys on the redacted text: another number in the same sentence is a hit.
ask "$redact" stories "Call Tom on $phone about the dog." >/dev/null
grep -qi '^X-Citadel-Cache: hit' "$work/h" || fail "redact-input: the same redacted prompt did not hit"
ask "$redact" stories "Call Tom on 13987654321 about the dog." >/dev/null
grep -qi '^X-Citadel-Cache: hit' "$work/h" || fail "redact-input: another number, same placeholders: no hit"
echo "ok - the cache keys on the redacted text"

logged=$(ask "$logonly" stories "Call Tom on $phone about the dog." | answer)
[ "$logged" = "$raw" ] || fail "log-only changed what the model saw"
grep -qi '^X-Citadel-Cache: bypass' "$work/h" || fail "log-only with PII in the prompt was cached: $(grep -i cache "$work/h")"
echo "ok - log-only: the model sees the raw prompt; its answer stays out of the cache"

strict=$(ask "$plain" strict "Call Tom on $phone about the dog." | answer)
[ "$strict" = "$(ask "$plain" strict "Call Tom on [PHONE_1] about the dog." | answer)" ] || fail "the model's redact-both did not bind a key without a policy"
echo "ok - a model's policy (redact-both) binds every key"
curl -s -o /dev/null -H "Authorization: Bearer $redact" "$url/v1/chat/completions" \
  -d "{\"model\":\"stories\",\"messages\":[{\"role\":\"user\",\"content\":\"Mail ann@example.com now\"}],\"max_tokens\":8,\"stream\":true}"
stop_server

# Neither the audit trail nor the logs hold a raw value of a request under a policy (the plain
# key's prompts, under no policy, are kept as audit_content: text asks).
python3 - "$work/audit.log" "$phone" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
by_key = {}
for l in lines:
    if l["url"]["path"] != "/v1/chat/completions": continue
    by_key.setdefault(l["user"]["name"], []).append(l["citadel"]["content"]["prompt"])
for name in ("redacting", "logging"):
    prompts = [p for ps in by_key[name] for p in ps]
    assert prompts and all(sys.argv[2] not in p and "ann@example.com" not in p for p in prompts), (name, prompts)
    assert any("[PHONE_1]" in p for p in prompts), (name, prompts)
assert any(sys.argv[2] in p for ps in by_key["plain"] for p in ps), "policy off keeps the text as asked (audit_content: text)"
PY
! grep -q "$phone" "$SERVER_LOG" || fail "the server log holds the raw phone number"
echo "ok - the audit trail (audit_content: text) and the logs hold placeholders, never the values"
