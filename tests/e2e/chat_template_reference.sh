#!/usr/bin/env bash
# Compares `citadel chat-template` byte for byte with the reference renderer @huggingface/jinja on
# the real chat templates of ../shared/tokenizers and on small language-feature templates.
#   bash tests/e2e/chat_template_reference.sh path/to/citadel
# Needs ../shared and `npm ci --prefix tests/e2e`; exits 77 (skipped) when either is absent.
set -euo pipefail
citadel="$(realpath "$1")"
src="${CITADEL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
shared="${CITADEL_TEST_SHARED:-$src/../shared}"
if [ ! -d "$shared/tokenizers/templates" ]; then
  echo "skipped: reference templates absent ($shared/tokenizers/templates)"
  exit 77
fi
if ! command -v node >/dev/null; then
  echo "skipped: node is not installed"
  exit 77
fi
if [ ! -d "$src/tests/e2e/node_modules/@huggingface/jinja" ]; then
  echo "skipped: @huggingface/jinja absent (run: npm ci --prefix tests/e2e)"
  exit 77
fi
exec node "$src/tests/e2e/chat_template_reference.mjs" "$citadel" "$shared"
