#!/usr/bin/env bash
# Reproduces the table of docs/performance.md: Citadel vs llama.cpp on random-weight models of
# real shapes, prefill (pp) and decode (tg) tokens/s at 1 and 2 threads, decode bandwidth as a
# fraction of the machine's read bandwidth measured in the same run.
#
#   bench/perf_table.sh [CITADEL_BINARY] [MODEL_DIR]
# Environment: LLAMA_BENCH (default /work/ext/llama.cpp/build/bin/llama-bench; skipped if absent),
#   SHAPES (llama-110m llama-1b), TYPES (f16 q8_0 q4_0 q4_k_m), THREADS (1 2), PP (64), TG (32), REPEAT (3).
set -euo pipefail
CITADEL=${1:-build/citadel}
DIR=${2:-/tmp/citadel-bench-models}
LLAMA_BENCH=${LLAMA_BENCH:-/work/ext/llama.cpp/build/bin/llama-bench}
SHAPES=${SHAPES:-"llama-110m llama-1b"}
TYPES=${TYPES:-"f16 q8_0 q4_0 q4_k_m"}
THREADS=${THREADS:-"1 2"}
PP=${PP:-64}
TG=${TG:-32}
REPEAT=${REPEAT:-3}
mkdir -p "$DIR"
OUT=$(mktemp)
have_llama=0
[ -x "$LLAMA_BENCH" ] && have_llama=1

echo "# CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores" >&2
for t in $THREADS; do
  "$CITADEL" bench --bandwidth --threads "$t" --json | python3 -c "import json,sys; j=json.load(sys.stdin); print(json.dumps({'bw': $t, 'gbs': j['machine_gb_per_second']}))" >> "$OUT"
done
for shape in $SHAPES; do
  for type in $TYPES; do
    f="$DIR/$shape-$type.gguf"
    [ -f "$f" ] || "$CITADEL" synth --shape "$shape" --type "$type" "$f" >&2
    for t in $THREADS; do
      # The two programs back to back, so both see the same machine state.
      "$CITADEL" bench --model "$f" --prompt-tokens "$PP" --gen-tokens "$TG" --threads "$t" --repeat "$REPEAT" --json |
        python3 -c "import json,sys; j=json.load(sys.stdin); j.update(shape='$shape', type='$type', t=$t, prog='citadel'); print(json.dumps(j))" >> "$OUT"
      if [ $have_llama = 1 ]; then
        "$LLAMA_BENCH" -m "$f" -p "$PP" -n "$TG" -t "$t" -r "$REPEAT" -o json 2>/dev/null |
          python3 -c "
import json,sys
rows=json.load(sys.stdin); d={'shape':'$shape','type':'$type','t':$t,'prog':'llama.cpp'}
for r in rows:
  d['prefill_tokens_per_second' if r['n_prompt']>0 else 'decode_tokens_per_second']=r['avg_ts']
print(json.dumps(d))" >> "$OUT"
      fi
    done
    echo "done $shape $type" >&2
  done
done

python3 - "$OUT" "$PP" "$TG" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
pp, tg = sys.argv[2], sys.argv[3]
bw = {r['bw']: r['gbs'] for r in rows if 'bw' in r}
print("machine read bandwidth: " + ", ".join(f"{v:.1f} GB/s with {k} thread(s)" for k, v in sorted(bw.items())))
print()
print(f"| model | threads | prefill pp{pp} tok/s | llama.cpp pp{pp} | ratio | decode tg{tg} tok/s | llama.cpp tg{tg} | ratio | decode GB/s | of machine |")
print("|---|---|---|---|---|---|---|---|---|---|")
ours = [r for r in rows if r.get('prog') == 'citadel']
for r in ours:
    ref = next((x for x in rows if x.get('prog') == 'llama.cpp' and x['shape'] == r['shape'] and x['type'] == r['type'] and x['t'] == r['t']), None)
    def ratio(key):
        return f"{r[key] / ref[key]:.2f}" if ref and ref.get(key) else "–"
    def theirs(key):
        return f"{ref[key]:.1f}" if ref and ref.get(key) else "–"
    frac = r['decode_gb_per_second'] / bw[r['t']] if r['t'] in bw else float('nan')
    print(f"| {r['shape']} {r['type']} | {r['t']} | {r['prefill_tokens_per_second']:.1f} | {theirs('prefill_tokens_per_second')} | {ratio('prefill_tokens_per_second')} "
          f"| {r['decode_tokens_per_second']:.1f} | {theirs('decode_tokens_per_second')} | {ratio('decode_tokens_per_second')} "
          f"| {r['decode_gb_per_second']:.1f} | {100 * frac:.0f}% |")
PY
rm -f "$OUT"
