"""Reads an `actqkv run --trace FILE [--trace-dense]` file and reports, per layer, whether the
blocks holding a needle (default: the passkey 71942 of scripts/compare-8k.sh's document) were
recalled at the last prompt token (rank among the chosen, best first), at each decode step and in
the question's chunk, next to the dense model's attention mass on them (with --trace-dense).
Default parameters S 64, b 32. The token texts come from the trace itself.

Usage: python3 scripts/trace_needle.py TRACE [--needle 71942]"""
import argparse, collections, json
ap = argparse.ArgumentParser()
ap.add_argument("trace")
ap.add_argument("--needle", default="71942")
ap.add_argument("--sink", type=int, default=64)
ap.add_argument("--block", type=int, default=32)
args = ap.parse_args()
S, B = args.sink, args.block
lines = [json.loads(l) for l in open(args.trace)]
prompt = next(l for l in lines if l["type"] == "prompt")
toks = prompt["tokens"]; n = len(toks); qs = prompt.get("questionSpan")
# passkey location
pieces = prompt["pieces"]
text = ""; starts = []
for p in pieces: starts.append(len(text)); text += p
j = text.find(args.needle)
assert j >= 0, f"needle {args.needle!r} not in the prompt"
i = max(0, text.rfind("\n", 0, j))
pk = [k for k in range(n) if i <= starts[k] < j + len(args.needle)]
digits = [k for k in range(n) if j <= starts[k] < j + len(args.needle)]
pkblocks = sorted({(k - S) // B for k in pk})
dblocks = sorted({(k - S) // B for k in digits})
print(f"prompt {n} tokens, question span {qs}, needle line tokens {pk[0]}..{pk[-1]}, digits {digits} -> blocks {pkblocks}, digit blocks {dblocks}")
print("question:", repr("".join(pieces[qs[0]:qs[1]])), "tail:", repr("".join(pieces[qs[1]:])))
ret = [l for l in lines if l["type"] == "retrieve"]
dense = {l["layer"]: l for l in lines if l["type"] == "dense"}
last = [r for r in ret if r["start"] == n - 1]
print("chunks:", sorted({(r["start"], r["count"], r["mode"], r["question"]) for r in ret if r["start"] >= n - 300})[:10])
print("\nlast prompt token (prefill, question term) per layer: rank of digit block(s) among chosen (k, N); dense mass on digit blocks, its rank among blocks by dense mass, dense-top-5 blocks recalled?")
hit = 0
for r in last:
    L = r["layer"]; ch = r["chosen"]
    ranks = [ch.index(b) if b in ch else None for b in dblocks]
    d = dense.get(L); extra = ""
    if d:
        bm = d["blockMass"]; order = sorted(range(len(bm)), key=lambda x: -bm[x])
        dm = sum(bm[b] for b in dblocks if b < len(bm)); drank = [order.index(b) for b in dblocks if b < len(bm)]
        top5 = order[:5]; rec = sum(1 for b in top5 if b in ch)
        kept = sum(bm[b] for b in ch if b < len(bm)); tot = sum(bm)
        extra = f"dense mass digits {dm:.4f} (rank {drank}), blocks mass {tot:.3f} kept {kept:.3f}; dense top5 {top5} recalled {rec}/5"
    if any(x is not None for x in ranks): hit += 1
    print(f"L{L:2d} k={r['k']} N={r['totalBlocks']} digit-block rank {ranks}  {extra}")
print(f"layers recalling a digit block at the last prompt token: {hit}/{len(last)}")
# decode steps
dec = collections.defaultdict(list)
for r in ret:
    if r["mode"] == "decode": dec[r["start"]].append(any(b in r["chosen"] for b in dblocks))
for s in sorted(dec): print(f"decode pos {s}: layers recalling digit block {sum(dec[s])}/{len(dec[s])}")
# question chunk
qc = [r for r in ret if r["start"] <= qs[0] < r["start"] + r["count"] and r["mode"] == "prefill" and r["count"] > 1]
print(f"question chunk(s) start {sorted({r['start'] for r in qc})}: layers recalling digit block {sum(any(b in r['chosen'] for b in dblocks) for r in qc)}/{len(qc)}, question term {set(r['question'] for r in qc)}")
ans = next((l for l in lines if l["type"] == "answer"), None)
if ans: print("answer:", repr(ans["text"]))
