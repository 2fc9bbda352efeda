#!/usr/bin/env bash
# citadel redact end to end: exact output on a small file (nested fields, numbering per line,
# malformed and blank lines), the summary and --report, stdout mode, dictionaries and regexes from
# flags and from a config file, I/O errors with non-zero exits and no partial files, the progress
# bar on a terminal only, and flat memory on a large generated file (peak RSS by /usr/bin/time -v).
set -euo pipefail
bin=${1:?usage: redact_cli.sh CITADEL_BINARY}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.bash"
root=$(repo_root)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
passed=0
ok() { echo "ok - $*"; passed=$((passed + 1)); }

# ---- a small file, every case once ----
{
  echo '{"id":1,"text":"客户张伟手机13812345678，身份证11010519491231002X，再打13812345678","keep":"13812345678"}'
  echo '{"id":2,"messages":[{"role":"user","content":"card 4111 1111 1111 1111, mail a@example.com"},{"role":"assistant","content":"noted 4111 1111 1111 1111"}]}'
  echo 'not json 13812345678'
  echo ''
  echo '{"id":4,"text":"nothing to hide, version 1.0.0.0","n":1.5e3}'
  echo '[1,2,3]'
  printf '{"id":6,"text":"bad \xff byte"}\n'
  printf '{"id":7,"text":"crlf line 13912345678"}\r\n'
  echo '{"id":8,"text":["IBAN DE89 3704 0044 0532 0130 00", {"deep":"SSN 123-45-6789"}]}'
  printf '{"id":9,"text":"no newline at the end, EMP-123456"}'
} >"$work/in.jsonl"
"$bin" redact --in "$work/in.jsonl" --out "$work/out.jsonl" --fields text,messages.*.content --report \
  >"$work/report.json" 2>"$work/stderr.txt" || fail "redact exited $? on a file with malformed lines"
cat >"$work/want.jsonl" <<'EOF'
{"id":1,"text":"客户张伟手机[PHONE_1]，身份证[CN_ID_1]，再打[PHONE_1]","keep":"13812345678"}
{"id":2,"messages":[{"role":"user","content":"card [BANK_CARD_1], mail [EMAIL_1]"},{"role":"assistant","content":"noted [BANK_CARD_1]"}]}
{"id":4,"text":"nothing to hide, version 1.0.0.0","n":1.5e3}
{"id":7,"text":"crlf line [PHONE_1]"}
{"id":8,"text":["IBAN [IBAN_1]", {"deep":"SSN [US_SSN_1]"}]}
{"id":9,"text":"no newline at the end, EMP-123456"}
EOF
diff "$work/want.jsonl" "$work/out.jsonl" || fail "output differs"
ok "fields, nested paths, numbering per line, unchanged lines byte for byte"

grep -q '^citadel redact: line 3: not JSON: invalid literal at byte 1$' "$work/stderr.txt" || fail "line 3 not reported: $(cat "$work/stderr.txt")"
grep -q '^citadel redact: line 6: not a JSON object$' "$work/stderr.txt" || fail "line 6 not reported"
grep -q '^citadel redact: line 7: not JSON: invalid UTF-8 in a string at byte 21$' "$work/stderr.txt" || fail "line 7 not reported"
! grep -q '13812345678' "$work/stderr.txt" || fail "stderr repeats a malformed line's text"
grep -q '10 lines: 6 written (4 changed), 3 malformed, 1 blank' "$work/stderr.txt" || fail "summary: $(cat "$work/stderr.txt")"
grep -Eq '^  PHONE +3$' "$work/stderr.txt" || fail "per-type summary"
ok "malformed lines reported by number (without their text) and left out; summary per type"

python3 - "$work/report.json" <<'PY' || fail "--report JSON: $(cat "$work/report.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["lines"] == 10 and r["written"] == 6 and r["malformed"] == 3 and r["blank"] == 1 and r["changed"] == 4, r
assert r["found"] == {"BANK_CARD": 2, "CN_ID": 1, "EMAIL": 1, "IBAN": 1, "PHONE": 3, "US_SSN": 1}, r["found"]
assert r["bytes_in"] > 0 and r["bytes_out"] > 0 and r["mb_per_second"] >= 0
PY
ok "--report prints the summary as JSON on stdout"

# stdout mode: records on stdout, the report on stderr.
"$bin" redact --in "$work/in.jsonl" --out - --fields text,messages.*.content --report -t 1 >"$work/stdout.jsonl" 2>"$work/err2.txt"
diff "$work/want.jsonl" "$work/stdout.jsonl" || fail "--out - differs"
grep -q '^{"lines":10,' "$work/err2.txt" || fail "--report with --out - belongs on stderr"
cat "$work/in.jsonl" | "$bin" redact --in - --out - --fields text 2>/dev/null | grep -q '\[PHONE_1\]' || fail "stdin to stdout"
ok "--out - and --in - stream through stdout and stdin"

# Dictionaries and regexes, from flags and from a --pii-config file (paths relative to it).
printf '# names\n张伟\nMary Johnson\n' >"$work/names.txt"
echo '{"id":1,"text":"张伟 and mary johnson, EMP-123456, 13812345678"}' >"$work/d.jsonl"
"$bin" redact --in "$work/d.jsonl" --out "$work/d1.jsonl" --fields text --dictionary "NAME=$work/names.txt" \
  --regex 'EMPLOYEE_ID=EMP-\d{6}' --detectors email 2>/dev/null
grep -qF '"[NAME_1] and [NAME_2], [EMPLOYEE_ID_1], 13812345678"' "$work/d1.jsonl" || fail "flags: $(cat "$work/d1.jsonl")"
cat >"$work/pii.json" <<'EOF'
{"dictionaries": [{"type": "NAME", "file": "names.txt"}], "regexes": [{"type": "EMPLOYEE_ID", "pattern": "EMP-\\d{6}"}]}
EOF
"$bin" redact --in "$work/d.jsonl" --out "$work/d2.jsonl" --fields text --pii-config "$work/pii.json" 2>/dev/null
grep -qF '"[NAME_1] and [NAME_2], [EMPLOYEE_ID_1], [PHONE_1]"' "$work/d2.jsonl" || fail "config: $(cat "$work/d2.jsonl")"
ok "dictionaries and regexes from flags and from --pii-config"

# ---- errors: non-zero exits, a clear message, no partial output ----
expect_exit() {  # CODE DESCRIPTION ARGS...
  local want=$1 what=$2; shift 2
  set +e
  "$bin" redact "$@" >"$work/e.out" 2>"$work/e.err"
  local got=$?
  set -e
  [ "$got" = "$want" ] || fail "$what: exit $got, expected $want ($(cat "$work/e.err"))"
}
expect_exit 1 "missing input" --in "$work/nope.jsonl" --out "$work/x.jsonl" --fields text
grep -q 'cannot open' "$work/e.err" || fail "missing input message"
expect_exit 1 "directory as input" --in "$work" --out "$work/x.jsonl" --fields text
grep -q 'read error' "$work/e.err" || fail "read error message: $(cat "$work/e.err")"
[ ! -e "$work/x.jsonl" ] && [ ! -e "$work/x.jsonl.partial" ] || fail "a failed run left output behind"
expect_exit 1 "full disk" --in "$work/in.jsonl" --out /dev/full --fields text
grep -q 'write error.*No space left' "$work/e.err" || fail "full disk message: $(cat "$work/e.err")"
[ -c /dev/full ] || fail "/dev/full is no longer a device"
expect_exit 1 "unwritable output" --in "$work/in.jsonl" --out "$work/no/such/dir/x.jsonl" --fields text
expect_exit 2 "same file in and out" --in "$work/in.jsonl" --out "$work/in.jsonl" --fields text
expect_exit 1 "bad regex" --in "$work/in.jsonl" --out "$work/x.jsonl" --fields text --regex 'X=('
grep -q 'does not compile' "$work/e.err" || fail "bad regex message"
expect_exit 1 "empty field path" --in "$work/in.jsonl" --out "$work/x.jsonl" --fields 'a..b'
expect_exit 106 "missing --fields" --in "$work/in.jsonl" --out "$work/x.jsonl"
ok "I/O and usage errors exit non-zero with a message and leave no partial file"

# ---- a line longer than --max-line-bytes is reported, the rest goes on ----
{ echo '{"text":"short 13812345678"}'; printf '{"text":"%0200d"}\n' 0; echo '{"text":"after"}'; } >"$work/long.jsonl"
"$bin" redact --in "$work/long.jsonl" --out "$work/long.out" --fields text --max-line-bytes 100 2>"$work/long.err"
grep -q 'line 2: longer than 100 bytes' "$work/long.err" || fail "long line: $(cat "$work/long.err")"
[ "$(wc -l <"$work/long.out")" = 2 ] || fail "long line handling"
ok "over-long lines are reported and skipped without being held"

# ---- a large file: flat memory, the progress bar only on a terminal ----
python3 "$root/tests/data/pii/mixed_records.py" >"$work/seed.jsonl"
for _ in $(seq 1 8); do cat "$work/seed.jsonl"; done >"$work/small.jsonl"
for _ in $(seq 1 10); do cat "$work/small.jsonl"; done >"$work/big.jsonl"
rss() {  # FILE -> peak RSS in KiB of a redact run over it
  /usr/bin/time -v "$bin" redact --in "$1" --out "$work/rss.out" --fields text,messages.*.content 2>"$work/rss.err" >/dev/null
  grep -q ' MB/s' "$work/rss.err" || fail "redact failed: $(tail -3 "$work/rss.err")"
  sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/rss.err"
}
small_mb=$(($(stat -c %s "$work/small.jsonl") / 1000000))
big_mb=$(($(stat -c %s "$work/big.jsonl") / 1000000))
small_kb=$(rss "$work/small.jsonl")
big_kb=$(rss "$work/big.jsonl")
[ "$(wc -l <"$work/rss.out")" = "$(wc -l <"$work/big.jsonl")" ] || fail "large file: lines lost"
! grep -q $'\r' "$work/rss.err" || fail "a progress bar was drawn without a terminal"
echo "peak RSS: $((small_kb / 1024)) MiB for $small_mb MB, $((big_kb / 1024)) MiB for $big_mb MB"
[ "$big_kb" -lt $((small_kb + 16 * 1024)) ] || fail "memory grows with the input: $small_kb KiB -> $big_kb KiB"
[ "$big_kb" -lt $((128 * 1024)) ] || fail "peak RSS $big_kb KiB"
ok "constant memory: peak RSS $((big_kb / 1024)) MiB on $big_mb MB (vs $((small_kb / 1024)) MiB on $small_mb MB)"

if command -v script >/dev/null; then
  script -qec "$bin redact --in $work/small.jsonl --out $work/tty.out --fields text" /dev/null >"$work/tty.txt" 2>&1 || true
  grep -q $'\rredact (MiB) \[' "$work/tty.txt" || fail "no progress bar on a terminal: $(head -c 300 "$work/tty.txt")"
  ok "progress bar on a terminal"
fi

echo "redact_cli: $passed checks passed"
