#!/usr/bin/env bash
# The Anthropic Messages, OpenAI Responses and Ollama APIs of a real server, driven by their official
# npm clients (@anthropic-ai/sdk, openai, ollama) and by raw hostile bodies (issue 19).
set -euo pipefail
bin=${1:?usage: serve_apis.sh CITADEL_BINARY}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.bash"
root=$(repo_root)
model="${CITADEL_TEST_MODELS:-$root/../shared/models}/stories260K/stories260K-f32.gguf"
[ -f "$model" ] || model="$root/models/stories260K.gguf"
for pkg in openai @anthropic-ai/sdk ollama; do
  if [ ! -d "$here/node_modules/$pkg" ]; then echo "SKIP: run 'npm ci --prefix tests/e2e' ($pkg client absent)"; exit 77; fi
done

work=$(mktemp -d)
trap 'stop_server; rm -rf "$work"' EXIT
start_server "$bin" --model "$model" --model-id stories --parallel 4 --threads 2
# Reference for raw /api/generate: the same prompt, greedy, through the CLI.
"$bin" generate --model "$model" --prompt "Once upon a time" --max-tokens 48 --temperature 0 --json >"$SERVER_LOG.generate"
CITADEL_URL="http://127.0.0.1:$PORT" GENERATE_JSON="$SERVER_LOG.generate" node "$here/serve_apis.mjs"
curl -sf "http://127.0.0.1:$PORT/health" >/dev/null || { echo "FAIL: the server died"; tail -20 "$SERVER_LOG"; exit 1; }

# With keys on, each client's authentication refusal comes in its API's shape (its own error class),
# and Anthropic's x-api-key header is a key like Authorization: Bearer.
stop_server
key=$("$bin" keys create --db "$work/keys.db" --role user --name apis 2>/dev/null | tail -1)
start_server "$bin" --model "$model" --model-id stories --threads 2 --auth-db "$work/keys.db"
cd "$here"  # the clients resolve from tests/e2e/node_modules
CITADEL_URL="http://127.0.0.1:$PORT" CITADEL_KEY="$key" node --input-type=module -e "
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { Ollama } from 'ollama';
import assert from 'node:assert/strict';
const url = process.env.CITADEL_URL, key = process.env.CITADEL_KEY;
const ask = { model: 'stories', max_tokens: 4, messages: [{ role: 'user', content: 'Hi' }] };
await assert.rejects(new Anthropic({ baseURL: url, apiKey: 'ctd_wrong', maxRetries: 0 }).messages.create(ask),
  e => e instanceof Anthropic.AuthenticationError && e.error?.error?.type === 'authentication_error');
const ok = await new Anthropic({ baseURL: url, apiKey: key, maxRetries: 0 }).messages.create(ask);  // sent as x-api-key
assert.equal(ok.type, 'message');
await assert.rejects(new OpenAI({ baseURL: url + '/v1', apiKey: 'ctd_wrong', maxRetries: 0 }).responses.create({ model: 'stories', input: 'Hi' }),
  e => e instanceof OpenAI.AuthenticationError && typeof e.error?.message === 'string');
await assert.rejects(new Ollama({ host: url }).chat(ask),
  e => e.name === 'ResponseError' && e.status_code === 401 && typeof e.error === 'string');
const tagged = await new Ollama({ host: url, headers: { Authorization: 'Bearer ' + key } }).chat({ ...ask, stream: false });
assert.equal(tagged.done, true);
console.log('ok - keys on: 401 in each API\'s shape, x-api-key accepted');
"
