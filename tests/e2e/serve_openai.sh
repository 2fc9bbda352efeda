#!/usr/bin/env bash
# The real server driven by the official `openai` npm client and by curl (issue: serving).
set -euo pipefail
bin=${1:?usage: serve_openai.sh CITADEL_BINARY}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.bash"
root=$(repo_root)
model="${CITADEL_TEST_MODELS:-$root/../shared/models}/stories260K/stories260K-f32.gguf"
[ -f "$model" ] || model="$root/models/stories260K.gguf"
if [ ! -d "$here/node_modules/openai" ]; then echo "SKIP: run 'npm ci --prefix tests/e2e' (openai client absent)"; exit 77; fi

start_server "$bin" --model "$model" --model-id stories --parallel 16 --threads 2
trap stop_server EXIT
# Reference for "the API equals citadel generate": the same prompt, greedy, through the CLI.
"$bin" generate --model "$model" --prompt "Once upon a time" --max-tokens 48 --temperature 0 --json >"$SERVER_LOG.generate"
CITADEL_URL="http://127.0.0.1:$PORT" GENERATE_JSON="$SERVER_LOG.generate" node "$here/serve_openai.mjs"

# /generate with curl gives the same greedy text.
got=$(curl -sf "http://127.0.0.1:$PORT/generate" -d '{"prompt":"Once upon a time","max_tokens":48,"temperature":0}' \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["response"])')
want=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["text"])' "$SERVER_LOG.generate")
[ "$got" = "$want" ] || { echo "FAIL: /generate differs from citadel generate"; exit 1; }
echo "ok - curl /generate equals citadel generate"
