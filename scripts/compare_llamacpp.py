"""Runs llama.cpp (llama-cpp-python) and `actqkv generate` alternately on the same token ids and
prints a Markdown table of medians. Called by scripts/compare-llamacpp.sh."""
import argparse, json, re, resource, statistics, subprocess, sys, time

p = argparse.ArgumentParser()
p.add_argument("--model", required=True)
p.add_argument("--actqkv", required=True)
p.add_argument("--work", required=True)
p.add_argument("--runs", type=int, default=3)
p.add_argument("--decode", type=int, default=64)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--baseline", help="an older actqkv binary, measured alongside as 'actqkv baseline'")
p.add_argument("--f32", action="store_true", help="also measure actqkv with --activations f32 ('actqkv f32')")
p.add_argument("--lengths", default="512,2048", help="prompt lengths in tokens (files ids<n>.txt in --work)")
a = p.parse_args()

LLAMA = r'''
import json, sys, time, resource
import numpy as np
from llama_cpp import Llama
ids = [int(t) for t in open(sys.argv[2]).read().split()]
decode = int(sys.argv[3])
llm = Llama(model_path=sys.argv[1], n_ctx=len(ids) + decode + 16, n_batch=512, n_threads=int(sys.argv[4]),
            n_threads_batch=int(sys.argv[4]), type_k=0, type_v=0, flash_attn=False, verbose=False)
import llama_cpp
n_vocab = llm.n_vocab()
def last_argmax():
    # The last evaluated position's logits straight from llama.cpp (llm.scores has only n_batch
    # rows when logits_all is off, so indexing it by n_tokens fails once decoding passes n_batch).
    return int(np.argmax(np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(n_vocab,))))
llm.reset()
t0 = time.perf_counter(); llm.eval(ids); t1 = time.perf_counter()
tok = last_argmax()
dt = 0.0
for _ in range(decode):
    s = time.perf_counter(); llm.eval([tok]); dt += time.perf_counter() - s
    tok = last_argmax()
print(json.dumps({"prefill_s": t1 - t0, "decode_ms": dt * 1000 / decode,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
'''

def run_llama(n):
    proc = subprocess.run([sys.executable, "-c", LLAMA, a.model, f"{a.work}/ids{n}.txt", str(a.decode), str(a.threads)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit("llama.cpp run failed:\n" + proc.stderr[-3000:])
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    return n / r["prefill_s"], r["decode_ms"], r["peak_mb"]

def run_actqkv(n, binary=None, extra=()):
    err = subprocess.run([binary or a.actqkv, "generate", "--model", a.model, "--input-ids", f"{a.work}/ids{n}.txt",
                          "--max-tokens", str(a.decode + 1), "--ignore-eos", "--timings", *extra],
                         check=True, capture_output=True, text=True).stderr
    m = re.search(r"prefill [0-9.]+ s \(([0-9.]+) tokens/s\); decode (\d+) tokens, ([0-9.]+) ms/token; peak memory (\d+) MB", err)
    if not m:
        raise SystemExit("cannot parse actqkv timings: " + err)
    return float(m.group(1)), float(m.group(3)), float(m.group(4))

import os
load_before = os.getloadavg()
rows = []
for n in [int(x) for x in a.lengths.split(",")]:
    res = {"llama.cpp": [], "actqkv": []}
    if a.baseline:
        res["actqkv baseline"] = []
    if a.f32:
        res["actqkv f32"] = []
    for _ in range(a.runs):
        res["llama.cpp"].append(run_llama(n))
        res["actqkv"].append(run_actqkv(n))
        if a.baseline:
            res["actqkv baseline"].append(run_actqkv(n, a.baseline))
        if a.f32:
            res["actqkv f32"].append(run_actqkv(n, extra=("--activations", "f32")))
    med = {k: tuple(statistics.median(x[i] for x in v) for i in range(3)) for k, v in res.items()}
    rows.append((n, med, res))

print(f"load average (1/5/15 min) before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}; "
      f"after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {a.threads} threads, {a.runs} runs each, alternating\n")
print(f"| prompt tokens | engine | prefill tokens/s | decode ms/token ({a.decode} tokens) | peak RSS MB |")
print("|---|---|---|---|---|")
for n, med, _ in rows:
    for k in med:
        print(f"| {n} | {k} | {med[k][0]:.1f} | {med[k][1]:.2f} | {med[k][2]:.0f} |")
for n, med, _ in rows:
    print(f"\n{n} tokens: prefill actqkv/llama.cpp = {med['actqkv'][0] / med['llama.cpp'][0]:.2f}x, "
          f"decode time actqkv/llama.cpp = {med['actqkv'][1] / med['llama.cpp'][1]:.2f}x", end="")
    if a.baseline:
        print(f"; actqkv vs baseline: prefill {med['actqkv'][0] / med['actqkv baseline'][0]:.2f}x, "
              f"decode time {med['actqkv'][1] / med['actqkv baseline'][1]:.2f}x, "
              f"peak RSS {med['actqkv'][2] / med['actqkv baseline'][2]:.2f}x", end="")
    if a.f32:
        print(f"; actqkv f32/llama.cpp: prefill {med['actqkv f32'][0] / med['llama.cpp'][0]:.2f}x, "
              f"decode time {med['actqkv f32'][1] / med['llama.cpp'][1]:.2f}x", end="")
print()
print("\nall runs (prefill tok/s, decode ms/token, peak MB):")
for n, _, res in rows:
    for k, v in res.items():
        print(f"  {n} {k}: " + "; ".join(f"{x[0]:.1f}, {x[1]:.2f}, {x[2]:.0f}" for x in v))
