#!/usr/bin/env bash
# Encrypted models at rest through the CLI and the server: encrypt-model, then serve / generate /
# inspect / tokenize / perplexity with the key from --model-key-file, CITADEL_MODEL_KEY_FILE or the
# YAML model_key_file; the same answers as the plain file; missing or wrong keys, a flipped byte
# and truncation refused with clear errors (and the server exits non-zero instead of serving).
set -euo pipefail
bin=${1:?usage: encrypted_model.sh CITADEL_BINARY}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.bash"
root=$(repo_root)
work=$(mktemp -d)
trap 'stop_server; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; [ -n "${SERVER_LOG:-}" ] && tail -20 "$SERVER_LOG"; exit 1; }
passed=0
ok() { echo "ok - $*"; passed=$((passed + 1)); }
plain="$root/models/stories260K.gguf"
enc="$work/stories.enc"

"$bin" encrypt-model --generate-key "$work/key" 2>/dev/null
[ "$(stat -c %a "$work/key")" = 600 ] || fail "key mode $(stat -c %a "$work/key")"
"$bin" encrypt-model --generate-key "$work/key" 2>/dev/null && fail "an existing key was overwritten"
"$bin" encrypt-model "$plain" "$enc" --key-file "$work/key" 2>/dev/null
grep -c "tokenizer.ggml" "$plain" >/dev/null || fail "probe string absent from the plain model"
grep -q "tokenizer.ggml" "$enc" && fail "the encrypted file shows the model's metadata"
[ ! -e "$enc.tmp" ] || fail "a temporary file was left"
ok "encrypt-model: key of mode 0600 never overwritten, ciphertext without the model's strings"

gen() { "$bin" generate --prompt "Once upon a time" --max-tokens 24 --temperature 0 --json "$@"; }
want=$(gen --model "$plain")
[ "$(gen --model "$enc" --model-key-file "$work/key")" = "$want" ] || fail "generate with --model-key-file differs"
[ "$(CITADEL_MODEL_KEY_FILE="$work/key" gen --model "$enc")" = "$want" ] || fail "generate with CITADEL_MODEL_KEY_FILE differs"
[ "$("$bin" tokenize --model "$enc" --model-key-file "$work/key" --text "Hello there" --json)" = \
  "$("$bin" tokenize --model "$plain" --text "Hello there" --json)" ] || fail "tokenize differs"
info=$("$bin" inspect "$enc" --model-key-file "$work/key")
grep -q "architecture: *llama" <<<"$info" || fail "inspect: $info"
printf 'Once upon a time there was a little girl. She liked to play in the park with her dog.\n%.0s' $(seq 1 20) >"$work/text.txt"
ppl() { "$bin" perplexity --context 64 --file "$work/text.txt" --json "$@" 2>/dev/null |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["perplexity"])'; }
p_enc=$(ppl --model "$enc" --model-key-file "$work/key")
[ -n "$p_enc" ] && [ "$p_enc" = "$(ppl --model "$plain")" ] || fail "perplexity differs: $p_enc"
ok "generate, tokenize, inspect, perplexity read the encrypted file as the plain one (flag and environment)"

err() { "$@" 2>&1 >/dev/null && echo "EXIT 0" || true; }
m=$(err gen --model "$enc")
grep -q -- "--model-key-file" <<<"$m" || fail "no key: $m"
"$bin" encrypt-model --generate-key "$work/other.key" 2>/dev/null
m=$(err gen --model "$enc" --model-key-file "$work/other.key")
grep -q "another key" <<<"$m" || fail "wrong key: $m"
cp "$enc" "$work/flipped.enc"
size=$(stat -c %s "$enc")
printf '\xff' | dd of="$work/flipped.enc" bs=1 seek=$((size / 2)) conv=notrunc status=none
m=$(err gen --model "$work/flipped.enc" --model-key-file "$work/key")
grep -q "chunk 1 of 2 fails authentication" <<<"$m" || fail "flipped byte: $m"
head -c $((size - 100)) "$enc" >"$work/short.enc"
m=$(err gen --model "$work/short.enc" --model-key-file "$work/key")
grep -q "truncated" <<<"$m" || fail "truncated: $m"
printf '%064d\n' 0 | head -c 10 >"$work/bad.key"
m=$(err gen --model "$enc" --model-key-file "$work/bad.key")
grep -q "64 hex digits" <<<"$m" || fail "malformed key: $m"
ok "missing key, wrong key, flipped byte, truncation, malformed key: clear errors"

# The server: a YAML model_key_file, same greedy answer as the plain model.
cat >"$work/citadel.yaml" <<YAML
model_key_file: $work/key
models:
  - id: secret
    path: $enc
YAML
start_server "$bin" --config "$work/citadel.yaml"
for _ in $(seq 1 100); do grep -q "ready" "$SERVER_LOG" && break; sleep 0.1; done
body='{"model":"secret","prompt":"Once upon a time","max_tokens":24,"temperature":0}'
got=$(curl -sf "http://127.0.0.1:$PORT/v1/completions" -d "$body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["choices"][0]["text"])')
[ "$got" = "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["text"])' "$want")" ] || fail "served text '$got'"
stop_server
ok "serve with model_key_file in YAML answers as the plain model"

set +e
timeout 60 "$bin" serve --port 0 --model "$work/flipped.enc" --model-key-file "$work/key" >"$work/bad.log" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] && grep -q "fails authentication" "$work/bad.log" || fail "serve of a tampered model: exit $rc, $(cat "$work/bad.log")"
ok "serve refuses a tampered model and exits 1"
echo "encrypted_model: $passed checks passed"
