# Shared helpers of the end-to-end scripts: a free port, starting citadel serve, waiting for health.
# Usage: source lib.bash; start_server CITADEL_BINARY [serve flags...]; ...; stop_server
repo_root() { cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

start_server() {
  local bin=$1; shift
  PORT=$(free_port)
  SERVER_LOG=$(mktemp)
  "$bin" serve --host 127.0.0.1 --port "$PORT" "$@" >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 200); do
    if curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then echo "server died:"; cat "$SERVER_LOG"; return 1; fi
    sleep 0.1
  done
  echo "server did not become healthy:"; cat "$SERVER_LOG"; return 1
}

stop_server() {
  if [ -n "${SERVER_PID:-}" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  fi
}
