#!/usr/bin/env bash
# Images with text (docs/multimodal.md): a random-weight LLaVA-1.5 projector (citadel synth
# clip-tiny) over a small text model. Chat with a data-URL PNG answers and counts the image's
# rows as prompt tokens, alone and batched beside other requests; a DICOM of the same pixels
# (img2dcm, when installed) answers the same; /generate with "images" gives exactly the CLI's greedy text for the same
# image and prompt; Anthropic image blocks take the same path; a remote URL, a model without a
# projector, broken base64, a corrupt PNG and an unsupported type are 400s with clear messages.
set -euo pipefail
bin=${1:?usage: multimodal.sh CITADEL_BINARY}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.bash"
root=$(repo_root)
work=$(mktemp -d)
trap 'stop_server; rm -rf "$work"' EXIT

"$bin" synth --shape llama-tiny --type f32 --vocab-from "$root/models/stories260K.gguf" "$work/text.gguf" >/dev/null
"$bin" synth --shape clip-tiny --type f32 "$work/mmproj.gguf" >/dev/null

# Test images: a 40x24 PNG (padded and resized to the encoder's 32x32) and another one.
python3 - "$work" <<'PY'
import struct, sys, zlib
def png(w, h, seed):
    def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
    rows = b''.join(b'\x00' + bytes(((x * 37 + y * 11 + c * 5 + seed) % 256) for x in range(w) for c in range(3)) for y in range(h))
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) +
            chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b''))
open(sys.argv[1] + '/a.png', 'wb').write(png(40, 24, 0))
open(sys.argv[1] + '/b.png', 'wb').write(png(32, 32, 99))
# a.png's pixels as a 24-bit BMP (bottom-up BGR rows padded to 4 bytes), for img2dcm.
w, h = 40, 24
stride = (w * 3 + 3) // 4 * 4
data = b''.join(bytes(v for x in range(w) for v in reversed([(x * 37 + y * 11 + c * 5) % 256 for c in range(3)])).ljust(stride, b'\0')
               for y in reversed(range(h)))
open(sys.argv[1] + '/a.bmp', 'wb').write(b'BM' + struct.pack('<IHHI', 54 + len(data), 0, 0, 54) +
                                         struct.pack('<IiiHHIIiiII', 40, w, h, 1, 24, 0, len(data), 2835, 2835, 0, 0) + data)
PY
# The same pixels as DICOM (DCMTK's img2dcm), when the tool is there.
if command -v img2dcm >/dev/null 2>&1; then img2dcm -i BMP "$work/a.bmp" "$work/a.dcm" >/dev/null 2>&1 || true; fi
# ... and one with a patient in its header, which must never reach the logs or the audit trail.
if [ -f "$work/a.dcm" ] && command -v dcmodify >/dev/null 2>&1; then
  cp "$work/a.dcm" "$work/patient.dcm"
  dcmodify -nb -i "(0010,0010)=DOE^JANEPATIENT" -i "(0010,0020)=PID7734521" -i "(0010,0030)=19610407" -i "(0018,0015)=CHEST" \
    "$work/patient.dcm" >/dev/null 2>&1 || rm -f "$work/patient.dcm"
fi

# The CLI: --image without --mmproj is refused; with it, greedy text for the reference below.
if "$bin" generate -m "$work/text.gguf" --image "$work/a.png" -p "hi" -n 4 >"$work/cli-refused.log" 2>&1; then
  echo "FAIL: --image without --mmproj ran"; exit 1
fi
grep -q -- "--mmproj" "$work/cli-refused.log" || { echo "FAIL: unclear refusal:"; cat "$work/cli-refused.log"; exit 1; }
"$bin" generate -m "$work/text.gguf" --mmproj "$work/mmproj.gguf" --image "$work/a.png" \
  -p "Look: <image> Once upon a time" -n 12 --temperature 0 --json -t 2 >"$work/cli.json"

cat >"$work/serve.yaml" <<EOF
audit_log: $work/audit.log
audit_content: text
log_format: json
models:
  - id: vlm
    path: $work/text.gguf
    mmproj: $work/mmproj.gguf
  - id: text
    path: $work/text.gguf
EOF
start_server "$bin" --config "$work/serve.yaml" --parallel 4

URL="http://127.0.0.1:$PORT" WORK="$work" python3 - <<'PY'
import base64, json, os, sys, threading, urllib.request, urllib.error
url, work = os.environ["URL"], os.environ["WORK"]
a = base64.b64encode(open(work + "/a.png", "rb").read()).decode()
b = base64.b64encode(open(work + "/b.png", "rb").read()).decode()
cli = json.load(open(work + "/cli.json"))

def call(path, body):
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())

def chat(model, parts, **kw):
    body = {"model": model, "messages": [{"role": "user", "content": parts}], "max_tokens": 8, "temperature": 0}
    body.update(kw)
    return call("/v1/chat/completions", body)

def image_part(data, mime="image/png"):
    return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{data}"}}

def expect_400(status, body, words, what):
    msg = json.dumps(body)
    if status != 400 or not all(w in msg for w in words):
        sys.exit(f"FAIL: {what}: {status} {msg}")

# Chat with an image: answered; the image's 16 rows count as prompt tokens.
s, with_img = chat("vlm", [{"type": "text", "text": "What is in this picture?"}, image_part(a)])
assert s == 200, (s, with_img)
s, text_only = chat("vlm", [{"type": "text", "text": "What is in this picture?"}])
assert s == 200, (s, text_only)
grow = with_img["usage"]["prompt_tokens"] - text_only["usage"]["prompt_tokens"]
if grow < 12:  # 16 rows minus the "<image>" marker's own text tokens at most
    sys.exit(f"FAIL: the image added {grow} prompt tokens, expected about 16: {with_img['usage']} {text_only['usage']}")
# The same request again answers the same (greedy), also while another image's request runs beside it.
results = {}
def run(key, parts):
    results[key] = chat("vlm", parts)
threads = [threading.Thread(target=run, args=("again", [{"type": "text", "text": "What is in this picture?"}, image_part(a)])),
           threading.Thread(target=run, args=("other", [image_part(b), {"type": "text", "text": "Describe it."}])),
           threading.Thread(target=run, args=("plain", [{"type": "text", "text": "What is in this picture?"}]))]
for t in threads: t.start()
for t in threads: t.join()
assert results["again"][0] == 200 and results["other"][0] == 200 and results["plain"][0] == 200, results
if results["again"][1]["choices"][0]["message"]["content"] != with_img["choices"][0]["message"]["content"]:
    sys.exit(f"FAIL: the same image answered differently when batched: {results['again'][1]} vs {with_img}")
if results["plain"][1]["choices"][0]["message"]["content"] != text_only["choices"][0]["message"]["content"]:
    sys.exit("FAIL: a text request batched with image requests answered differently")

# A DICOM file of the same pixels (application/dicom data URL) answers exactly as the PNG.
dicom_checked = os.path.exists(work + "/a.dcm")
if os.path.exists(work + "/patient.dcm"):  # answered like any image; its header stays out (checked below)
    d = base64.b64encode(open(work + "/patient.dcm", "rb").read()).decode()
    s, pat = chat("vlm", [{"type": "text", "text": "Describe this scan."}, image_part(d, "application/dicom")])
    assert s == 200, (s, pat)
    # Named attributes go into the prompt before the image ("[DICOM BodyPartExamined: CHEST]"), so the
    # prompt grows; identifying ones are refused before the file is read, without its values.
    part = image_part(d, "application/dicom")
    part["image_url"]["dicom"] = {"attributes": ["BodyPartExamined"], "window": "lung"}
    s, named = chat("vlm", [{"type": "text", "text": "Describe this scan."}, part])
    assert s == 200, (s, named)
    if named["usage"]["prompt_tokens"] <= pat["usage"]["prompt_tokens"]:
        sys.exit(f"FAIL: the named attribute did not reach the prompt: {named['usage']} vs {pat['usage']}")
    s, e = call("/generate", {"model": "vlm", "prompt": "Findings: <image>", "images": [d],
                              "dicom": {"attributes": ["Modality", "PatientName"]}})
    expect_400(s, e, ["PatientName", "identify"], "an identifying DICOM attribute")
    if "JANEPATIENT" in json.dumps(e):
        sys.exit("FAIL: the refusal quoted the patient's name")
    s, e = call("/generate", {"model": "vlm", "prompt": "Findings: <image>", "images": [d], "dicom": {"window": "liver"}})
    expect_400(s, e, ["lung", "bone"], "an unknown window preset")
    s, e = call("/generate", {"model": "vlm", "prompt": "Findings: <image>", "images": [d], "dicom": {"colour": 1}})
    expect_400(s, e, ["dicom.colour"], "an unknown DICOM option")
    s, g = call("/generate", {"model": "vlm", "prompt": "Findings: <image>", "images": [d], "max_tokens": 4,
                              "dicom": {"attributes": ["BodyPartExamined"], "window": {"center": 40, "width": 80}}})
    assert s == 200, (s, g)
if dicom_checked:
    d = base64.b64encode(open(work + "/a.dcm", "rb").read()).decode()
    s, dcm = chat("vlm", [{"type": "text", "text": "What is in this picture?"}, image_part(d, "application/dicom")])
    assert s == 200, (s, dcm)
    if dcm["choices"][0]["message"]["content"] != with_img["choices"][0]["message"]["content"]:
        sys.exit(f"FAIL: the DICOM of the same pixels answered differently: {dcm} vs {with_img}")
else:
    print("(img2dcm absent: the DICOM case is not checked)")

# /generate with "images": exactly the CLI's greedy text for the same image and prompt.
s, gen = call("/generate", {"model": "vlm", "prompt": "Look: <image> Once upon a time", "images": [a],
                            "max_tokens": 12, "temperature": 0})
assert s == 200, (s, gen)
if gen["response"] != cli["text"] or gen["usage"]["prompt_tokens"] != len(cli["prompt_ids"]):
    sys.exit(f"FAIL: /generate {gen['response']!r} differs from the CLI's {cli['text']!r}")

# Anthropic image blocks take the same path.
s, msg = call("/v1/messages", {"model": "vlm", "max_tokens": 8, "messages": [{"role": "user", "content": [
    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": a}},
    {"type": "text", "text": "What is in this picture?"}]}]})
assert s == 200 and msg["usage"]["input_tokens"] >= 16, (s, msg)

# Refusals, each a 400 naming the problem.
s, e = chat("vlm", [{"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}])
expect_400(s, e, ["not fetched"], "a remote URL")
s, e = chat("text", [{"type": "text", "text": "hi"}, image_part(a)])
expect_400(s, e, ["does not take images", "mmproj"], "a model without a projector")
s, e = chat("vlm", [image_part("!!!not base64!!!")])
expect_400(s, e, ["base64"], "broken base64")
corrupt = base64.b64encode(base64.b64decode(a)[:60]).decode()
s, e = chat("vlm", [image_part(corrupt)])
expect_400(s, e, ["PNG"], "a truncated PNG")
s, e = chat("vlm", [image_part(a, "image/gif")])
expect_400(s, e, ["image/gif"], "an unsupported type")
s, e = call("/generate", {"model": "text", "prompt": "hi", "images": [a]})
expect_400(s, e, ["does not take images"], "/generate images on a text model")
s, e = call("/generate", {"model": "vlm", "prompt": "many", "images": [a] * 20})  # 320 positions > 256
expect_400(s, e, ["20 images take 320 positions", "context"], "more images than the context holds")
s, e = call("/generate", {"model": "vlm", "prompt": "<image> <image>", "images": [a]})
expect_400(s, e, ["2 <image> markers"], "more markers than images")
print(f"multimodal: ok (an image adds {grow} prompt tokens; /generate and the CLI both say {gen['response']!r};"
      f" DICOM of the same pixels {'answers the same' if dicom_checked else 'not checked'})")
PY

# After DICOM requests: no patient name, ID or birth date in the server's log or the audit trail.
if [ -f "$work/patient.dcm" ]; then
  # The CLI refuses an identifying attribute too, naming it and not its value.
  if "$bin" generate -m "$work/text.gguf" --mmproj "$work/mmproj.gguf" --image "$work/patient.dcm" \
       --dicom-attributes Modality,PatientName -p "x" -n 2 >"$work/cli-pn.log" 2>&1; then
    echo "FAIL: --dicom-attributes PatientName ran"; exit 1
  fi
  grep -q "identify" "$work/cli-pn.log" && ! grep -q JANEPATIENT "$work/cli-pn.log" ||
    { echo "FAIL: unclear CLI refusal:"; cat "$work/cli-pn.log"; exit 1; }
  for win in abc,80 40,0 liver; do  # a malformed window or an unknown preset is refused, not defaulted
    if "$bin" generate -m "$work/text.gguf" --mmproj "$work/mmproj.gguf" --image "$work/patient.dcm" \
         --dicom-window "$win" -p "x" -n 2 >"$work/cli-win.log" 2>&1; then
      echo "FAIL: --dicom-window $win ran"; exit 1
    fi
    grep -q -- "--dicom-window" "$work/cli-win.log" || { echo "FAIL: unclear refusal of $win:"; cat "$work/cli-win.log"; exit 1; }
  done
  stop_server
  [ -s "$work/audit.log" ] || { echo "FAIL: no audit trail written"; exit 1; }
  if grep -l -E "JANEPATIENT|PID7734521|19610407" "$SERVER_LOG" "$work/audit.log"; then
    echo "FAIL: patient data from a DICOM header reached the logs or the audit trail"; exit 1
  fi
  grep -q "Describe this scan" "$work/audit.log" || { echo "FAIL: the audit trail does not hold the request's text"; exit 1; }
  echo "multimodal: ok (no patient name, ID or birth date in the log or the audit trail after a DICOM request)"
fi
