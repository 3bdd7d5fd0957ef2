#!/usr/bin/env python3
"""Where a needle's blocks rank in an `actqkv run --trace` file (docs/BENCHMARKS.md §"Quality").

usage: scripts/needle_rank.py TRACE.jsonl NEEDLE [SINK_TOKENS BLOCK_TOKENS]

Finds the needle's text in the traced prompt, the tokens and blocks holding it (block i covers
S + i·b ..< S + (i+1)·b), and prints, for every retrieve from the chunk before the question on,
the rank of each of those blocks in `chosen` (None: not recalled). With a sample written by
`actqkv eval ruler --write-samples DIR`:

  actqkv run --exact-layout --input DIR/X.document.txt --question "$(cat DIR/X.question.txt)" \
    --answer-prefix "$(cat DIR/X.answer-prefix.txt)" --method infllm --trace t.jsonl
  scripts/needle_rank.py t.jsonl "$(cat DIR/X.references.txt)"
"""
import json
import sys

trace, needle = sys.argv[1], sys.argv[2]
S, b = (int(sys.argv[3]), int(sys.argv[4])) if len(sys.argv) > 4 else (64, 8)
rows = [json.loads(l) for l in open(trace)]
pieces = next(r for r in rows if "pieces" in r)["pieces"]
text, starts = "", []
for p in pieces:
    starts.append(len(text))
    text += p
i = text.find(needle)
tok = [k for k, s in enumerate(starts) if i <= s < i + len(needle)]
blocks = sorted({(t - S) // b for t in tok if t >= S})
q = text.rfind("What is")
qtok = max(k for k, s in enumerate(starts) if s <= q)
print(f"needle tokens {tok[0]}..{tok[-1]} blocks {blocks}; question token {qtok}; prompt {len(pieces)} tokens")
for r in rows:
    if r.get("type") != "retrieve" or r["start"] + r["count"] <= qtok - 300:
        continue
    ranks = [r["chosen"].index(x) if x in r["chosen"] else None for x in blocks]
    print(f"chunk {r['chunk']:3} start {r['start']:5} count {r['count']:3} {r['mode']:7} layer {r['layer']:2} k {r['k']:3} N {r['totalBlocks']:4} ranks {ranks}")
