#!/usr/bin/env bash
# Reproduces the tables of docs/performance.md: Citadel vs llama.cpp on random-weight models of
# real shapes, prefill (pp) and decode (tg) tokens/s at 1 and 2 threads, each Citadel figure next
# to llama.cpp's measured right after it on the same file (so both see the same machine state),
# and decode bandwidth as a fraction of the machine's read bandwidth measured in the same run.
#
#   bench/perf_table.sh [CITADEL_BINARY] [MODEL_DIR]
# The models: `citadel synth --type f32` per shape, then llama.cpp's llama-quantize to each type
# (Citadel's own synth --type when llama-quantize is absent).
# Environment:
#   LLAMA_BIN   folder with llama-bench and llama-quantize (default /work/llamacpp/build/bin;
#               without llama-bench the llama.cpp columns are left empty)
#   SHAPES (llama-1b)  TYPES (q8_0 q4_0 q4_k_m f16 bf16)  THREADS (1 2)
#   PP (128 2048): prompt lengths; PP_LONG_FROM (1024): from this length on REPEAT_LONG (1) runs,
#   else REPEAT (3); TG (32) decode tokens.
#   BASELINE    another citadel binary, run right after this one on every measurement: a second
#               table gives this/baseline (e.g. CITADEL_ISA=avx2 before and after a change).
# CITADEL_ISA and other CITADEL_* variables reach both citadel binaries.
set -euo pipefail
CITADEL=${1:-build/citadel}
DIR=${2:-/tmp/citadel-bench-models}
LLAMA_BIN=${LLAMA_BIN:-/work/llamacpp/build/bin}
SHAPES=${SHAPES:-"llama-1b"}
TYPES=${TYPES:-"q8_0 q4_0 q4_k_m f16 bf16"}
THREADS=${THREADS:-"1 2"}
PP=${PP:-"128 2048"}
PP_LONG_FROM=${PP_LONG_FROM:-1024}
TG=${TG:-32}
REPEAT=${REPEAT:-3}
REPEAT_LONG=${REPEAT_LONG:-1}
BASELINE=${BASELINE:-}
mkdir -p "$DIR"
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
have_llama=0
[ -x "$LLAMA_BIN/llama-bench" ] && have_llama=1

# jget EXPR: evaluates EXPR on the JSON read from stdin (j), e.g. jget "j['threads']".
jget() { python3 -c "import json, sys; j = json.load(sys.stdin); print($1)"; }
# One JSON line per measurement: {shape, type, t, prog, metric, value}.
record() {  # prog metric value
  printf '{"shape":"%s","type":"%s","t":%s,"prog":"%s","metric":"%s","value":%s}\n' "$shape" "$type" "$t" "$1" "$2" "$3" >> "$OUT"
}
citadel_run() {  # binary prog pp tg repeat
  local j
  j=$("$1" bench --model "$f" --prompt-tokens "$3" --gen-tokens "$4" --threads "$t" --repeat "$5" --json)
  if [ "$3" -gt 0 ]; then record "$2" "pp$3" "$(jget "j['prefill_tokens_per_second']" <<<"$j")"; fi
  if [ "$4" -gt 0 ]; then
    record "$2" "tg$4" "$(jget "j['decode_tokens_per_second']" <<<"$j")"
    record "$2" "gbs" "$(jget "j['decode_gb_per_second']" <<<"$j")"
  fi
}
llama_run() {  # pp tg repeat
  [ $have_llama = 1 ] || return 0
  local j
  j=$("$LLAMA_BIN/llama-bench" -m "$f" -p "$1" -n "$2" -t "$t" -r "$3" -o json 2>/dev/null)
  if [ "$1" -gt 0 ]; then record llama.cpp "pp$1" "$(jget "[r for r in j if r['n_prompt'] > 0][0]['avg_ts']" <<<"$j")"; fi
  if [ "$2" -gt 0 ]; then record llama.cpp "tg$2" "$(jget "[r for r in j if r['n_gen'] > 0][0]['avg_ts']" <<<"$j")"; fi
}
measure() {  # pp tg repeat: Citadel, the baseline, llama.cpp, back to back
  citadel_run "$CITADEL" citadel "$@"
  if [ -n "$BASELINE" ]; then citadel_run "$BASELINE" baseline "$@"; fi
  llama_run "$@"
}

for t in $THREADS; do
  j=$("$CITADEL" bench --bandwidth --threads "$t" --json)
  echo "# CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores; $(jget "j['kernels'] + ' kernels (' + j['cpu_features'] + ')'" <<<"$j")" >&2
  shape=machine type=- record machine gbs "$(jget "j['machine_gb_per_second']" <<<"$j")"
done
for shape in $SHAPES; do
  for type in $TYPES; do
    f="$DIR/$shape-$type.gguf"
    if [ ! -f "$f" ]; then
      if [ -x "$LLAMA_BIN/llama-quantize" ]; then
        src="$DIR/$shape-f32.gguf"
        [ -f "$src" ] || "$CITADEL" synth --shape "$shape" --type f32 "$src" >&2
        "$LLAMA_BIN/llama-quantize" "$src" "$f" "${type^^}" >/dev/null 2>&1
      else
        "$CITADEL" synth --shape "$shape" --type "$type" "$f" >&2
      fi
    fi
    for t in $THREADS; do
      first=1
      for pp in $PP; do
        tg=0
        [ $first = 1 ] && tg=$TG  # decode once, with the first prompt length
        first=0
        if [ "$pp" -ge "$PP_LONG_FROM" ]; then measure "$pp" "$tg" "$REPEAT_LONG"; else measure "$pp" "$tg" "$REPEAT"; fi
      done
      echo "done $shape $type, $t thread(s)" >&2
    done
  done
done

python3 - "$OUT" "$PP" "$TG" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
pps, tg = sys.argv[2].split(), sys.argv[3]
val = {(r['shape'], r['type'], r['t'], r['prog'], r['metric']): r['value'] for r in rows}
bw = {r['t']: r['value'] for r in rows if r['prog'] == 'machine'}
print("machine read bandwidth: " + ", ".join(f"{v:.1f} GB/s with {k} thread(s)" for k, v in sorted(bw.items())))
print()
metrics = [f"pp{p}" for p in pps] + [f"tg{tg}"]
keys = sorted({(r['shape'], r['type'], r['t']) for r in rows if r['prog'] == 'citadel'},
              key=lambda k: (k[0], ["q8_0", "q4_0", "q4_k_m", "f16", "bf16"].index(k[1]) if k[1] in ["q8_0", "q4_0", "q4_k_m", "f16", "bf16"] else 9, k[1], k[2]))
def fmt(v): return "–" if v is None else f"{v:.1f}"
def ratio(a, b): return "–" if a is None or not b else f"**{a / b:.2f}**"
head = "| model | threads |" + "".join(f" {m} tok/s | llama.cpp | ratio |" for m in metrics) + " decode GB/s | of machine |"
print(head)
print("|---|---|" + "---|---|---|" * len(metrics) + "---|---|")
for k in keys:
    line = f"| {k[0]} {k[1]} | {k[2]} |"
    for m in metrics:
        ours, theirs = val.get(k + ('citadel', m)), val.get(k + ('llama.cpp', m))
        line += f" {fmt(ours)} | {fmt(theirs)} | {ratio(ours, theirs)} |"
    gbs = val.get(k + ('citadel', 'gbs'))
    frac = f"{100 * gbs / bw[k[2]]:.0f}%" if gbs and k[2] in bw else "–"
    print(line + f" {fmt(gbs)} | {frac} |")
if any(r['prog'] == 'baseline' for r in rows):
    print()
    print("this binary / baseline, measured back to back:")
    print()
    print("| model | threads |" + "".join(f" {m} |" for m in metrics))
    print("|---|---|" + "---|" * len(metrics))
    for k in keys:
        print(f"| {k[0]} {k[1]} | {k[2]} |" + "".join(f" {ratio(val.get(k + ('citadel', m)), val.get(k + ('baseline', m)))} |" for m in metrics))
PY
