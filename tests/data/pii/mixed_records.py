#!/usr/bin/env python3
"""Writes JSONL records shaped like training data to stdout: of every five, three English prose
paragraphs (tests/data/text, no PII), one text from the PII corpus (Chinese or English, PII-dense)
and one chat record ({"messages": [...]}: a corpus text asked, a prose paragraph answered).
About 1.6 MB; repeat it (cat) for larger files. Used by tests/e2e/redact_cli.sh and
bench/redact_throughput.sh, with --fields text,messages.*.content."""
import json
import os
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")
prose = [p.strip() for p in open(os.path.join(root, "tests/data/text/tinystories_style.txt"), encoding="utf-8").read().split("\n\n") if p.strip()]
pii = [json.loads(line)["text"] for line in open(os.path.join(root, "tests/data/pii/corpus.jsonl"), encoding="utf-8")]
out = sys.stdout
for i in range(len(pii) * 5):
    k = i % 5
    if k < 3:
        rec = {"id": i, "text": prose[i % len(prose)]}
    elif k == 3:
        rec = {"id": i, "text": pii[i // 5]}
    else:
        rec = {"id": i, "messages": [{"role": "user", "content": pii[(i // 5 + 7) % len(pii)]},
                                     {"role": "assistant", "content": prose[(i + 3) % len(prose)]}]}
    out.write(json.dumps(rec, ensure_ascii=False) + "\n")
