#!/usr/bin/env bash
# Citadel's greedy output against llama.cpp's llava-cli (built outside this repository) on a
# random-weight LLaVA-1.5 projector (synth clip-tiny) + text model (synth llama-tiny with the
# bundled vocabulary), for images of the encoder's size and of other sizes, two prompts.
#   bash scripts/llava_cli_compare.sh build/citadel /path/to/llama.cpp/build/bin/llama-llava-cli
#   N=64 SEED=7 TYPE=f16 bash scripts/llava_cli_compare.sh ...   (tokens, weights seed, mmproj type)
# Prints one line per run and "identical: K of 10"; exits 1 unless all are identical.
set -euo pipefail
bin=${1:?usage: llava_cli_compare.sh CITADEL LLAMA_LLAVA_CLI}
cli=${2:?usage: llava_cli_compare.sh CITADEL LLAMA_LLAVA_CLI}
root=$(cd "$(dirname "$0")/.." && pwd)
n=${N:-32}
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
"$bin" synth --shape llama-tiny --type f32 --vocab-from "$root/models/stories260K.gguf" --seed ${SEED:-42} $w/text.gguf >/dev/null
"$bin" synth --shape clip-tiny --type ${TYPE:-f32} --seed ${SEED:-42} $w/mmproj.gguf >/dev/null
python3 - $w <<'PY'
import struct, sys, zlib
def png(w, h, seed):
    def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
    rows = b''.join(b'\x00' + bytes(((x * 37 + y * 11 + c * 5 + seed) % 256) for x in range(w) for c in range(3)) for y in range(h))
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b''))
for name, (w_, h_, s) in {"enc32": (32, 32, 3), "wide40x24": (40, 24, 0), "tall20x57": (20, 57, 7), "big100x80": (100, 80, 11), "tiny7x5": (7, 5, 2)}.items():
    open(f"{sys.argv[1]}/{name}.png", "wb").write(png(w_, h_, s))
PY
same=0; total=0
for prompt in "Look: <image> Once upon a time" "<image>Tell me a story about"; do
for img in enc32 wide40x24 tall20x57 big100x80 tiny7x5; do
  "$bin" generate -m $w/text.gguf --mmproj $w/mmproj.gguf --image $w/$img.png -p "$prompt" -n $n --temperature 0 --ignore-eos -t 2 >$w/$img.ours
  "$cli" -m $w/text.gguf --mmproj $w/mmproj.gguf --image $w/$img.png -p "$prompt" --temp 0 -n $n -t 2 -c 256 --ignore-eos 2>$w/$img.llava.log >$w/$img.llava.out
  total=$((total+1))
  if python3 - $w/$img.ours $w/$img.llava.out "$img | $prompt" <<'PY'
import sys
ours = open(sys.argv[1], 'rb').read().rstrip(b'\n')
lines = open(sys.argv[2], 'rb').read().split(b'\n')
i = max(k for k, l in enumerate(lines) if l.startswith(b'encode_image_with_clip: image encoded'))
theirs = b'\n'.join(lines[i + 2:]).rstrip(b'\n')
# Citadel streams invalid UTF-8 (single byte tokens of a random model) as U+FFFD; llava-cli prints
# raw bytes with printf("%s") (so a <0x00> token prints nothing): compare as replaced text.
ours = ours.decode('utf-8', 'replace').replace('\x00', '').encode()
ours = ours.split(b'</s>')[0]  # llava-cli stops at EOS even with --ignore-eos
theirs = theirs.decode('utf-8', 'replace').encode()
print(f"{sys.argv[3]}: {'IDENTICAL' if ours == theirs else 'DIFFERENT'} ({len(ours)} bytes)  {ours[:60]!r}")
if ours != theirs: print(f"   llava: {theirs[:60]!r}")
sys.exit(0 if ours == theirs else 1)
PY
  then same=$((same+1)); fi
done
done
echo "identical: $same of $total"
[ "$same" = "$total" ]
