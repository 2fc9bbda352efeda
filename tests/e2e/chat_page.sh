#!/usr/bin/env bash
# The built-in chat page in headless Chromium: type a question, see the answer stream in.
set -euo pipefail
bin=${1:?usage: chat_page.sh CITADEL_BINARY}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.bash"
root=$(repo_root)
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "SKIP: chromium is not installed (scripts/setup.sh installs it)"; exit 77; }
[ -d "$here/node_modules/puppeteer-core" ] || { echo "SKIP: run 'npm ci --prefix tests/e2e'"; exit 77; }
start_server "$bin" --model "$root/models/stories260K.gguf"
trap stop_server EXIT
CITADEL_URL="http://127.0.0.1:$PORT" CHROMIUM="$browser" SCREENSHOT="${CHAT_PAGE_SCREENSHOT:-}" node "$here/chat_page.mjs"
stop_server

# Keys on: the page asks for a key and explains 401, 403 and 429.
work=$(mktemp -d)
trap 'stop_server; rm -rf "$work"' EXIT
user_key=$("$bin" keys create --db "$work/keys.db" --role user --name page-user --rpm 1 2>/dev/null | tail -1)
auditor_key=$("$bin" keys create --db "$work/keys.db" --role auditor --name page-auditor 2>/dev/null | tail -1)
start_server "$bin" --model "$root/models/stories260K.gguf" --auth-db "$work/keys.db"
CITADEL_URL="http://127.0.0.1:$PORT" CHROMIUM="$browser" USER_KEY="$user_key" AUDITOR_KEY="$auditor_key" \
  node "$here/chat_page_keys.mjs"
