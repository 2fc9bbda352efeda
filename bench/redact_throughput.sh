#!/usr/bin/env bash
# Throughput of `citadel redact` in MB/s on a generated JSONL file (training-data shaped: prose,
# PII-dense Chinese/English texts, chat records; tests/data/pii/mixed_records.py repeated), next to
# the machine's plain copy of the same file (`cat in > out`, page cache warm) measured in the same
# run, as a ratio. Best of REPEAT runs each; peak RSS from /usr/bin/time -v.
#
#   bench/redact_throughput.sh [CITADEL_BINARY] [WORK_DIR]
# Environment: SIZE_MB (300), THREADS ("1 0": 0 = all cores), REPEAT (3).
set -euo pipefail
CITADEL=${1:-build/citadel}
WORK=${2:-/tmp/citadel-bench-redact}
SIZE_MB=${SIZE_MB:-300}
THREADS=${THREADS:-"1 0"}
REPEAT=${REPEAT:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$WORK"
in="$WORK/records.jsonl"

python3 "$root/tests/data/pii/mixed_records.py" >"$WORK/seed.jsonl"
seed_bytes=$(stat -c %s "$WORK/seed.jsonl")
copies=$(((SIZE_MB * 1000000 + seed_bytes - 1) / seed_bytes))
if [ ! -f "$in" ] || [ "$(stat -c %s "$in")" != $((copies * seed_bytes)) ]; then
  for _ in $(seq 1 "$copies"); do cat "$WORK/seed.jsonl"; done >"$in"
fi
bytes=$(stat -c %s "$in")
now() { date +%s.%N; }
best() { sort -g | head -1; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }

cat "$in" >/dev/null  # into the page cache
cat_s=$(for _ in $(seq 1 "$REPEAT"); do
  t0=$(now); cat "$in" >"$WORK/copy.jsonl"; t1=$(now); calc "$t1 - $t0"; echo
done | best)
rm -f "$WORK/copy.jsonl"

echo "# CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores; input $((bytes / 1000000)) MB"
echo
echo "| run | MB/s | vs cat | peak RSS |"
echo "|---|---|---|---|"
printf '| cat in > out | %.0f | 1 | |\n' "$(calc "$bytes / 1000000 / $cat_s")"
for t in $THREADS; do
  runs=""
  rss=0
  for _ in $(seq 1 "$REPEAT"); do
    /usr/bin/time -v "$CITADEL" redact --in "$in" --out "$WORK/out.jsonl" --fields text,messages.*.content \
      --threads "$t" --report >"$WORK/report.json" 2>"$WORK/stderr.txt"
    runs+="$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['seconds'])" "$WORK/report.json")"$'\n'
    r=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$WORK/stderr.txt")
    [ "$r" -gt "$rss" ] && rss=$r
  done
  s=$(printf '%s' "$runs" | best)
  n=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['threads'])" "$WORK/report.json")
  printf '| redact, %s thread(s) | %.1f | %.3f | %d MiB |\n' "$n" "$(calc "$bytes / 1000000 / $s")" \
    "$(calc "$cat_s / $s")" $((rss / 1024))
done
echo
echo "found per type (last run): $(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['found'])" "$WORK/report.json")"
rm -f "$WORK/out.jsonl"
