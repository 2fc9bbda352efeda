#!/usr/bin/env bash
# TLS over real connections with OpenSSL's s_client and curl: certificates from `citadel pki`,
# TLS 1.2 refused by default and accepted with tls_min_version "1.2" (YAML), mTLS (no client
# certificate, one from another CA, a server certificate: refused; a CA-issued client one:
# accepted), and SIGHUP swapping the certificate and client CA while a stream runs to completion.
set -euo pipefail
bin=${1:?usage: tls.sh CITADEL_BINARY}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.bash"
command -v openssl >/dev/null || { echo "skipped: openssl not found"; exit 77; }
work=$(mktemp -d)
trap 'stop_server; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; [ -n "${SERVER_LOG:-}" ] && tail -20 "$SERVER_LOG"; exit 1; }
passed=0
ok() { echo "ok - $*"; passed=$((passed + 1)); }

pki="$work/pki"
out=$("$bin" pki init --dir "$pki")
"$bin" pki issue --dir "$pki" --name server --san localhost,127.0.0.1 >>"$work/pki.out"
"$bin" pki issue --dir "$pki" --name server2 --san 127.0.0.1 --key-type ed25519 >>"$work/pki.out"
"$bin" pki issue --dir "$pki" --name alice --client >>"$work/pki.out"
"$bin" pki init --dir "$work/other" --key-type ed25519 >>"$work/pki.out"
"$bin" pki issue --dir "$work/other" --name mallory --client >>"$work/pki.out"
! grep -q "PRIVATE KEY" <<<"$out$(cat "$work/pki.out")" || fail "pki printed a key"
[ "$(stat -c %a "$pki")" = 700 ] && [ "$(stat -c %a "$pki/ca.key")" = 600 ] && [ "$(stat -c %a "$pki/alice.key")" = 600 ] ||
  fail "pki modes: dir $(stat -c %a "$pki"), ca.key $(stat -c %a "$pki/ca.key")"
ok "pki: CA and certificates, keys 0600 in a 0700 directory, none printed"

# start_tls_server FLAGS...: citadel serve over HTTPS, waiting until /health answers.
start_tls_server() {
  PORT=$(free_port)
  SERVER_LOG=$(mktemp -p "$work")
  "$bin" serve --host 127.0.0.1 --port "$PORT" "$@" >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    grep -q "ready" "$SERVER_LOG" && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || fail "server died: $(cat "$SERVER_LOG")"
    sleep 0.1
  done
  fail "server did not become ready"
}
# s_client ARGS...: a TLS handshake and GET /health; prints what openssl and the server said.
s_client() {
  printf 'GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
    timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -servername localhost -CAfile "$pki/ca.crt" \
      -verify_return_error -quiet "$@" 2>&1 || true
}
fingerprint() {
  timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$pki/ca.crt" "$@" </dev/null 2>/dev/null |
    openssl x509 -noout -fingerprint -sha256 | cut -d= -f2
}
cert_fingerprint() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }
curl_tls() { curl -sS -m 20 --cacert "$pki/ca.crt" "$@"; }

# --- TLS 1.3 only by default.
start_tls_server --tls-cert "$pki/server.crt" --tls-key "$pki/server.key"
grep -q "listening on https://" "$SERVER_LOG" || fail "the log does not say https"
[ "$(curl_tls "https://localhost:$PORT/health" --resolve "localhost:$PORT:127.0.0.1")" = '{"status":"ok"}' ] ||
  fail "HTTPS /health with the CA's certificate"
r=$(s_client -tls1_3)
grep -q '{"status":"ok"}' <<<"$r" || fail "TLS 1.3 handshake: $r"
ok "TLS 1.3 with a certificate from the internal CA (curl, s_client)"
r=$(s_client -tls1_2)
grep -q "alert protocol version" <<<"$r" || fail "TLS 1.2 was not refused by default: $r"
curl_tls --tls-max 1.2 "https://127.0.0.1:$PORT/health" >/dev/null 2>&1 && fail "curl got through with TLS 1.2"
ok "TLS 1.2 refused by default (protocol version alert)"
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/health" || true)
[ "$code" = 000 ] || fail "plain HTTP on the TLS port answered $code"
r=$(openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$work/other/ca.crt" -verify_return_error </dev/null 2>&1 || true)
grep -q "unable to get local issuer certificate\|verify error" <<<"$r" || fail "a client trusting another CA accepted the server"
ok "plain HTTP gets nothing; a client trusting another CA refuses the server"
stop_server

# --- tls_min_version "1.2" from the YAML config.
cat >"$work/tls12.yaml" <<YAML
tls_cert: $pki/server.crt
tls_key: $pki/server.key
tls_min_version: "1.2"
YAML
start_tls_server --config "$work/tls12.yaml"
r=$(s_client -tls1_2)
grep -q '{"status":"ok"}' <<<"$r" || fail "TLS 1.2 refused with tls_min_version 1.2: $r"
[ "$(curl_tls --tls-max 1.2 "https://127.0.0.1:$PORT/health")" = '{"status":"ok"}' ] || fail "curl TLS 1.2"
proto=$(timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$pki/ca.crt" -tls1_2 </dev/null 2>/dev/null | sed -n 's/^ *Protocol *: //p')
[ "$proto" = TLSv1.2 ] || fail "negotiated '$proto'"
grep -q '{"status":"ok"}' <<<"$(s_client -tls1_3)" || fail "TLS 1.3 refused with tls_min_version 1.2"
r=$(s_client -tls1_1)
grep -q '{"status":"ok"}' <<<"$r" && fail "TLS 1.1 accepted"
ok "tls_min_version 1.2 (YAML): TLS 1.2 and 1.3 accepted, 1.1 not"
stop_server

# --- mTLS, and SIGHUP while a stream runs. The served files are copies the test replaces.
cp "$pki/server.crt" "$work/live.crt"; cp "$pki/server.key" "$work/live.key"; cp "$pki/ca.crt" "$work/live-ca.crt"
model="$work/llama-110m-q4_0.gguf"  # slow enough for a stream of several seconds
"$bin" synth --shape llama-110m --type q4_0 "$model" >/dev/null
start_tls_server --model "$model" --tls-cert "$work/live.crt" --tls-key "$work/live.key" --tls-client-ca "$work/live-ca.crt"
alice=(--cert "$pki/alice.crt" --key "$pki/alice.key")
mallory=(--cert "$work/other/mallory.crt" --key "$work/other/mallory.key")
r=$(s_client)
grep -q "alert certificate required" <<<"$r" || fail "no client certificate was not refused: $r"
curl_tls "https://127.0.0.1:$PORT/health" >/dev/null 2>&1 && fail "curl without a client certificate got through"
ok "mTLS: no client certificate refused (certificate required alert)"
r=$(s_client -cert "$pki/alice.crt" -key "$pki/alice.key")
grep -q '{"status":"ok"}' <<<"$r" || fail "alice refused: $r"
[ "$(curl_tls "${alice[@]}" "https://127.0.0.1:$PORT/health")" = '{"status":"ok"}' ] || fail "curl with alice"
ok "mTLS: a client certificate from the CA accepted (s_client, curl)"
r=$(s_client -cert "$work/other/mallory.crt" -key "$work/other/mallory.key")
grep -q "alert unknown ca" <<<"$r" || fail "a certificate of another CA was not refused: $r"
curl_tls "${mallory[@]}" "https://127.0.0.1:$PORT/health" >/dev/null 2>&1 && fail "curl with mallory got through"
r=$(s_client -cert "$pki/server.crt" -key "$pki/server.key")
grep -q '{"status":"ok"}' <<<"$r" && fail "a server certificate was accepted as a client certificate"
ok "mTLS: another CA's certificate refused (unknown ca), a server certificate refused as a client's"

old=$(fingerprint -cert "$pki/alice.crt" -key "$pki/alice.key")
[ "$old" = "$(cert_fingerprint "$pki/server.crt")" ] || fail "served fingerprint $old"
stream='{"prompt":"Once upon a time","max_tokens":1000,"temperature":0,"stream":true}'
curl_tls -m 300 -N "${alice[@]}" "https://127.0.0.1:$PORT/v1/completions" -d "$stream" -o "$work/stream.out" &
streamer=$!
events() { cat "$work/stream.out" 2>/dev/null | grep -c '^data:' || true; }
for _ in $(seq 1 300); do
  [ "$(events)" -ge 5 ] && break
  sleep 0.1
done
before=$(events)
[ "$before" -ge 5 ] || fail "the stream did not start"
cp "$pki/server2.crt" "$work/live.crt"; cp "$pki/server2.key" "$work/live.key"
cp "$work/other/ca.crt" "$work/live-ca.crt"  # from now on mallory's CA, not alice's
kill -HUP "$SERVER_PID"
for _ in $(seq 1 50); do grep -q "TLS certificate reloaded" "$SERVER_LOG" && break; sleep 0.1; done
grep -q "TLS certificate reloaded" "$SERVER_LOG" || fail "no reload in the log"
new=$(fingerprint -cert "$work/other/mallory.crt" -key "$work/other/mallory.key")
[ "$new" = "$(cert_fingerprint "$pki/server2.crt")" ] && [ "$new" != "$old" ] || fail "after SIGHUP the fingerprint is $new"
kill -0 "$streamer" 2>/dev/null || fail "the stream ended before the reload was checked (machine too fast for 1000 tokens?)"
r=$(s_client -cert "$pki/alice.crt" -key "$pki/alice.key")
grep -q '{"status":"ok"}' <<<"$r" && fail "alice still accepted after the client CA was replaced"
wait "$streamer" || fail "the stream broke after SIGHUP (curl exit $?)"
after=$(events)
grep -v '^$' "$work/stream.out" | tail -1 | grep -q '^data: \[DONE\]' || fail "the stream has no [DONE]: $(tail -c 300 "$work/stream.out")"
grep -q '"finish_reason":"length"' "$work/stream.out" || fail "the stream did not run to its length"
[ "$after" -gt "$before" ] || fail "no events after the reload"
ok "SIGHUP: new connections get the new certificate ($old -> $new) and client CA; the open stream ran on to [DONE] ($before events before, $after in all)"

printf 'not a certificate\n' >"$work/live.crt"
kill -HUP "$SERVER_PID"
for _ in $(seq 1 50); do grep -q "certificate in use stays" "$SERVER_LOG" && break; sleep 0.1; done
grep -q "certificate in use stays" "$SERVER_LOG" || fail "a bad certificate at reload was not reported"
[ "$(fingerprint -cert "$work/other/mallory.crt" -key "$work/other/mallory.key")" = "$new" ] || fail "a bad file replaced the certificate"
grep -q '{"status":"ok"}' <<<"$(s_client -cert "$work/other/mallory.crt" -key "$work/other/mallory.key")" || fail "serving stopped"
ok "a bad file at SIGHUP is logged and the certificate in use stays"
stop_server
echo "tls: $passed checks passed"
