"""Time to answer over one long document: `actqkv run` (dense and block methods, embedded kvd,
fresh data directory per run) and llama.cpp dense (llama-cpp-python) on the same token ids,
alternating, each run under `flock /tmp/cpu.lock`. Called by scripts/compare-8k.sh."""
import argparse, fcntl, json, os, statistics, subprocess, sys, tempfile, time

p = argparse.ArgumentParser()
p.add_argument("--actqkv", required=True)
p.add_argument("--model", required=True)
p.add_argument("--input", required=True)
p.add_argument("--question", required=True)
p.add_argument("--runs", type=int, default=3)
p.add_argument("--max-tokens", type=int, default=16)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--methods", default="dense,actqkv,llama.cpp")
p.add_argument("--lock", default="/tmp/cpu.lock")
p.add_argument("--work", required=True)
p.add_argument("--answer-prefix", help="a completion prompt ending with this text instead of --chat (base models)")
a = p.parse_args()

LLAMA = r'''
import json, sys, time
import numpy as np
import llama_cpp
from llama_cpp import Llama
ids = [int(t) for t in open(sys.argv[2]).read().split()]
max_tokens, threads, kv_type, flash = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6] == "1"
llm = Llama(model_path=sys.argv[1], n_ctx=len(ids) + max_tokens + 16, n_batch=512, n_threads=threads,
            n_threads_batch=threads, type_k=kv_type, type_v=kv_type, flash_attn=flash, verbose=False)
n_vocab = llm.n_vocab()
stop = {llm.token_eos()} | {t for t in range(n_vocab) if llm.detokenize([t], special=True) in (b"<|im_end|>", b"<|endoftext|>", b"<end_of_turn>")}
def last_argmax():
    return int(np.argmax(np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(n_vocab,))))
llm.reset()
t0 = time.perf_counter(); llm.eval(ids); tok = last_argmax(); t1 = time.perf_counter()
out = [tok]
while tok not in stop and len(out) < max_tokens:
    llm.eval([tok]); tok = last_argmax(); out.append(tok)
t2 = time.perf_counter()
answer = [t for t in out if t not in stop]
print(json.dumps({"prefill": t1 - t0, "decode": t2 - t1, "tokens": len(answer),
                  "answer": llm.detokenize(answer).decode("utf-8", "replace")}))
'''

def uptime():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())

ids_file = f"{a.work}/prompt-ids.txt"

def run_actqkv(method):
    data = tempfile.mkdtemp(dir=a.work, prefix=f"kvd-{method}-")
    prompt = ["--answer-prefix", a.answer_prefix] if a.answer_prefix else ["--chat"]
    cmd = [a.actqkv, "run", "--model", a.model, "--input", a.input, "--question", a.question, *prompt,
           "--max-tokens", str(a.max_tokens), "--method", method, "--data-dir", data, "--json", "--prompt-ids", ids_file]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"actqkv run failed:\n{proc.stderr[-3000:]}")
    s = json.loads(proc.stderr.strip().splitlines()[-1])
    subprocess.run(["rm", "-rf", data])
    return {"prefill": s["prefillSeconds"], "decode": s["decodeSeconds"], "tokens": s["generatedTokens"],
            "answer": proc.stdout.strip(), "promptTokens": s["promptTokens"]}

def run_llama(variant):
    # "llama.cpp": Float32 K/V cache, flash attention off (as scripts/compare_llamacpp.py);
    # "llama.cpp-f16-fa": llama.cpp's own defaults for long prompts, F16 K/V cache and flash attention.
    kv, flash = ("1", "1") if variant == "llama.cpp-f16-fa" else ("0", "0")
    cmd = [sys.executable, "-c", LLAMA, a.model, ids_file, str(a.max_tokens), str(a.threads), kv, flash]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit("llama.cpp run failed:\n" + proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])

methods = a.methods.split(",")
# llama.cpp needs the prompt ids: the first actqkv run writes them.
order = [m for m in methods if not m.startswith("llama.cpp")] + [m for m in methods if m.startswith("llama.cpp")]
results = {m: [] for m in order}
for i in range(a.runs):
    for m in order:
        with open(a.lock, "a") as lock:  # the same flock(2) lock as flock(1): the load is read holding it
            fcntl.flock(lock, fcntl.LOCK_EX)
            before = uptime()
            r = run_llama(m) if m.startswith("llama.cpp") else run_actqkv(m)
            r["load"] = f"{before} → {uptime()}"
        r["total"] = r["prefill"] + r["decode"]
        results[m].append(r)
        print(f"run {i + 1} {m}: prefill {r['prefill']:.2f} s, total {r['total']:.2f} s, {r['tokens']} tokens "
              f"{r['answer']!r}; load {r['load']}", file=sys.stderr, flush=True)

med = {m: (statistics.median(r["prefill"] for r in v), statistics.median(r["total"] for r in v)) for m, v in results.items()}
prompt = next((r["promptTokens"] for m in order if not m.startswith("llama.cpp") for r in results[m]), "?")
print(f"prompt {prompt} tokens; {a.runs} alternating runs per engine, {a.threads} threads; medians\n")
print("| engine | prefill s (runs) | time to answer s (runs) | answers | load average 1/5/15 (before → after, per run) |")
print("|---|---|---|---|---|")
for m, v in results.items():
    runs_p = ", ".join(f"{r['prefill']:.1f}" for r in v)
    runs_t = ", ".join(f"{r['total']:.1f}" for r in v)
    answers = "; ".join(sorted({repr(r["answer"]) for r in v}))
    loads = "; ".join(r["load"] for r in v)
    print(f"| {m} | **{med[m][0]:.1f}** ({runs_p}) | **{med[m][1]:.1f}** ({runs_t}) | {answers} | {loads} |")
print()
for x in methods:
    for y in methods:
        if x != y and y in ("llama.cpp", "llama.cpp-f16-fa", "dense") and not (x.startswith("llama.cpp") and y == "dense"):
            print(f"{x}/{y}: prefill {med[x][0] / med[y][0]:.2f}, time to answer {med[x][1] / med[y][1]:.2f}")
