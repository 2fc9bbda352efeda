#!/usr/bin/env bash
# Throughput of `citadel redact` in MB/s on a generated JSONL file (training-data shaped: prose,
# PII-dense Chinese/English texts, chat records; tests/data/pii/mixed_records.py repeated), next to
# the machine's plain copy of the same file (`cat in > out`, page cache warm) measured in the same
# run, as a ratio. Best of REPEAT runs each, by wall time and by CPU time (user + system, from
# /usr/bin/time: what the work costs when other jobs share the cores); peak RSS.
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
best() { sort -g | head -1; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }

cat "$in" >/dev/null  # into the page cache
timed() {  # COMMAND... -> "wall_seconds cpu_seconds peak_rss_kib" (stdout of the command discarded)
  /usr/bin/time -f '%e %U %S %M' -o "$WORK/time.txt" "$@" >/dev/null 2>"$WORK/stderr.txt" ||
    { echo "failed: $* $(tail -3 "$WORK/stderr.txt")" >&2; exit 1; }
  awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$WORK/time.txt"
}
row() {  # LABEL COMMAND...: best wall and best CPU time of REPEAT runs
  local label=$1; shift
  local walls="" cpus="" rss=0
  for _ in $(seq 1 "$REPEAT"); do
    read -r w c r < <(timed "$@")
    walls+="$w"$'\n'; cpus+="$c"$'\n'
    [ "$r" -gt "$rss" ] && rss=$r
  done
  local w c
  w=$(printf '%s' "$walls" | best); c=$(printf '%s' "$cpus" | best)
  [ "$(calc "$c < 0.01")" = "1.000000" ] && c=0.01  # cat's CPU time can round to 0
  echo "$label $w $c $rss"
}
cat_row=$(row cat sh -c "cat '$in' >'$WORK/copy.jsonl'")
rm -f "$WORK/copy.jsonl"
read -r _ cat_wall cat_cpu _ <<<"$cat_row"

echo "# CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg); input $((bytes / 1000000)) MB"
echo
echo "| run | MB/s (wall) | vs cat | MB per CPU-second | vs cat | peak RSS |"
echo "|---|---|---|---|---|---|"
printf '| cat in > out | %.0f | 1 | %.0f | 1 | |\n' "$(calc "$bytes / 1000000 / $cat_wall")" "$(calc "$bytes / 1000000 / $cat_cpu")"
for t in $THREADS; do
  read -r _ w c rss <<<"$(row redact "$CITADEL" redact --in "$in" --out "$WORK/out.jsonl" --fields text,messages.*.content --threads "$t")"
  n=$(sed -n 's/.*MB\/s with \([0-9]*\) thread.*/\1/p' "$WORK/stderr.txt")
  printf '| redact, %s thread(s) | %.1f | %.3f | %.1f | %.3f | %d MiB |\n' "$n" "$(calc "$bytes / 1000000 / $w")" \
    "$(calc "$cat_wall / $w")" "$(calc "$bytes / 1000000 / $c")" "$(calc "$cat_cpu / $c")" $((rss / 1024))
done
echo
echo "found per type (last run): $(grep -E '^  [A-Z_]+ +[0-9]+$' "$WORK/stderr.txt" | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 }')"
rm -f "$WORK/out.jsonl"
