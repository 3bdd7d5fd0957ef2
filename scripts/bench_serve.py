"""Time to first token and tokens/s of `actqkv serve` and llama.cpp's server (llama-cpp-python)
on the same model, in one run (driven by scripts/bench-serve.sh).

usage: bench_serve.py ACTQKV_BIN LLAMA_PYTHON MODEL_FILE OUT.json [--runs N] [--lengths 4096,8192]

Per server and document length, `runs` times with a new document each time (seeded slices of
the GPL text, so no run finds another's cache), all requests streamed chat completions at
temperature 0 and TTFT = seconds from sending the request to the first non-empty content chunk:
  cold        the document and question A, nothing cached
  repeat      the same request again
  new-q       the same document, question B
  restart     both servers restarted (llama.cpp's cache is in its RAM; actqkv's in kvd on disk),
              then the document with question C
Then tokens/s: 1 and 4 concurrent clients, each asking for 128 tokens after a short prompt
(aggregate completion tokens / wall seconds). Medians are printed and written to OUT.json.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import openai

QUESTIONS = ["What is this document about? Answer in one sentence.",
             "Who may copy and distribute this text? Answer briefly.",
             "Name one obligation the document describes."]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server process: `kind` is actqkv or llamacpp."""

    def __init__(self, kind, args, workdir):
        self.kind, self.args, self.workdir = kind, args, workdir
        self.process = None
        self.port = free_port()

    def start(self):
        if self.kind == "actqkv":
            cmd = [self.args.actqkv, "serve", "--model", self.args.model, "--model-name", "m", "--port", str(self.port),
                   "--data-dir", os.path.join(self.workdir, "kvd")]
        else:
            cmd = [self.args.llama_python, "-m", "llama_cpp.server", "--model", self.args.model, "--model_alias", "m",
                   "--port", str(self.port), "--n_ctx", str(self.args.context), "--n_threads", str(os.cpu_count()),
                   "--n_batch", "512", "--flash_attn", "false"]
        self.log = open(os.path.join(self.workdir, f"{self.kind}.log"), "ab")
        self.process = subprocess.Popen(cmd, stdout=self.log, stderr=self.log)
        deadline = time.time() + 600
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/v1/models", timeout=1).read()
                return
            except Exception:
                if self.process.poll() is not None:
                    sys.exit(f"{self.kind} server exited; see {self.log.name}")
                time.sleep(0.2)
        sys.exit(f"{self.kind} server did not start")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def client(self):
        return openai.OpenAI(base_url=f"http://127.0.0.1:{self.port}/v1", api_key="unused", max_retries=0, timeout=1800)


def ttft(server, document, question, max_tokens=16):
    """Seconds to the first content, and the usage the server reported (actqkv: cached tokens)."""
    start = time.perf_counter()
    first = None
    usage = None
    stream = server.client().chat.completions.create(
        model="m", messages=[{"role": "system", "content": document}, {"role": "user", "content": question}],
        max_tokens=max_tokens, temperature=0, stream=True, stream_options={"include_usage": True})
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        if first is None and any((c.delta.content or "") for c in chunk.choices):
            first = time.perf_counter() - start
    cached = None
    if usage is not None and getattr(usage, "prompt_tokens_details", None) is not None:
        cached = usage.prompt_tokens_details.cached_tokens
    return first if first is not None else time.perf_counter() - start, usage.prompt_tokens if usage else None, cached


def throughput(server, clients, tokens=128):
    prompt = "Write a long story about a lighthouse keeper and the sea."
    done = []

    def one(i):
        r = server.client().completions.create(model="m", prompt=prompt + f" Chapter {i + 1}.", max_tokens=tokens,
                                               temperature=0.8, seed=i)
        done.append(r.usage.completion_tokens)

    start = time.perf_counter()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.perf_counter() - start)


def document(text_words, tokens, seed):
    """About `tokens` tokens of the GPL text, starting at a seeded offset (≈ 0.75 words per token)."""
    words = int(tokens * 0.72)
    start = (seed * 7919) % max(1, len(text_words) - words)
    out = text_words[start:start + words]
    while len(out) < words:
        out += text_words[:words - len(out)]
    return f"[document {seed}] " + " ".join(out)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("actqkv")
    p.add_argument("llama_python")
    p.add_argument("model")
    p.add_argument("out")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--lengths", default="4096,8192")
    p.add_argument("--context", type=int, default=8192)
    args = p.parse_args()
    words = open("/usr/share/common-licenses/GPL-3", encoding="utf-8").read().split()
    lengths = [int(x) for x in args.lengths.split(",")]
    results = {}
    work = tempfile.mkdtemp(prefix="bench-serve-")
    try:
        servers = {k: Server(k, args, work) for k in ("llamacpp", "actqkv")}
        for length in lengths:
            for run in range(args.runs):
                doc = document(words, length - 400, seed=1000 * length + run)
                for kind, server in servers.items():
                    server.start()
                    row = {}
                    for label, q in (("cold", QUESTIONS[0]), ("repeat", QUESTIONS[0]), ("new-q", QUESTIONS[1])):
                        row[label] = ttft(server, doc, q)
                    server.stop()
                    server.start()
                    row["restart"] = ttft(server, doc, QUESTIONS[2])
                    server.stop()
                    results.setdefault(f"{length}", {}).setdefault(kind, []).append(row)
                    print(length, run, kind, {k: (round(v[0], 3), v[1], v[2]) for k, v in row.items()}, flush=True)
        for kind, server in servers.items():
            server.start()
            results.setdefault("throughput", {})[kind] = {str(c): throughput(server, c) for c in (1, 4)}
            server.stop()
            print("throughput", kind, results["throughput"][kind], flush=True)
    finally:
        for s in servers.values():
            s.stop()
        shutil.rmtree(work, ignore_errors=True)
    summary = {}
    for length in lengths:
        for kind, rows in results[str(length)].items():
            for label in ("cold", "repeat", "new-q", "restart"):
                summary[f"{length} {kind} {label}"] = statistics.median(r[label][0] for r in rows)
    for length in lengths:
        for label in ("cold", "repeat", "new-q", "restart"):
            a, l = summary[f"{length} actqkv {label}"], summary[f"{length} llamacpp {label}"]
            print(f"{length:>6} {label:>8}: actqkv {a:.3f} s, llama.cpp {l:.3f} s, ratio {a / l:.2f}")
    for c in ("1", "4"):
        a, l = results["throughput"]["actqkv"][c], results["throughput"]["llamacpp"][c]
        print(f"tokens/s with {c} client(s): actqkv {a:.1f}, llama.cpp {l:.1f}, ratio {a / l:.2f}")
    with open(args.out, "w") as f:
        json.dump({"runs": results, "medians": summary}, f, indent=1)


if __name__ == "__main__":
    main()
