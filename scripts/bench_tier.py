#!/usr/bin/env python3
"""The rounds of scripts/bench-tier.sh (read its header): node B's time to first token over node A's
published document, against computing it on B."""
import argparse, json, os, shutil, signal, statistics, subprocess, sys, time

p = argparse.ArgumentParser()
p.add_argument("--bin", required=True)
p.add_argument("--model", required=True)
p.add_argument("--remote", required=True)
p.add_argument("--input", required=True)
p.add_argument("--rounds", type=int, default=3)
p.add_argument("--work", required=True)
a = p.parse_args()
actqkv, kvd, kvctl = (os.path.join(a.bin, n) for n in ("actqkv", "kvd", "kvctl"))


def start_kvd(name, prefix):
    root = os.path.join(a.work, name)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    os.chmod(root, 0o755)
    sock = os.path.join(root, "kvd.sock")
    log = open(os.path.join(root, "kvd.log"), "w")
    proc = subprocess.Popen([kvd, "serve", "--socket", sock, "--data", os.path.join(root, "data"),
                             "--remote", a.remote, "--remote-prefix", prefix], stdout=log, stderr=log)
    for _ in range(500):
        if os.path.exists(sock):
            return proc, sock, root
        time.sleep(0.02)
    sys.exit(f"kvd {name} did not start (see {root}/kvd.log)")


def counters(sock):
    out = subprocess.run([kvctl, "--socket", sock, "stats", "--json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)["counters"]


def run(sock, session, question):
    cmd = [actqkv, "run", "--model", a.model, "--input", a.input, "--question", question, "--chat",
           "--max-tokens", "8", "--socket", sock, "--session", session, "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"actqkv run failed: {r.stderr}")
    summary = json.loads([l for l in r.stderr.splitlines() if l.startswith("{")][-1])
    summary["answer"] = r.stdout.strip()
    return summary


def load():
    return os.getloadavg()[0]


rows = []
for r in range(a.rounds):
    prefix = f"bench{os.getpid()}r{r}"
    proc_a, sock_a, root_a = start_kvd("a", prefix)
    first = run(sock_a, "doc", "What is this document about? One sentence.")
    deadline = time.time() + 300
    while True:
        c = counters(sock_a)
        if c.get("tier.queuedBlocks") == 0 and c.get("tier.publications", 0) >= 1:
            break
        if time.time() > deadline:
            sys.exit(f"node A did not publish: {c}")
        time.sleep(0.2)
    proc_a.send_signal(signal.SIGTERM)
    proc_a.wait()
    shutil.rmtree(root_a)

    proc_b, sock_b, root_b = start_kvd("b", prefix)
    question = "What is the secret passkey of this document? Answer with the number only."
    before = load()
    pulled = run(sock_b, "doc", question)
    computed = run(sock_b, f"separate{r}", question)
    after = load()
    tier = {k: v for k, v in counters(sock_b).items() if k.startswith("tier.") and not k.startswith("tier.redis")}
    proc_b.send_signal(signal.SIGTERM)
    proc_b.wait()
    rows.append((first, pulled, computed, before, after, tier))
    print(f"round {r + 1}: A prompt {first['promptTokens']} tokens; B pulled: first token {pulled['firstTokenSeconds']:.2f} s "
          f"(reused {pulled['reusedTokens']}, computed {pulled['computedTokens']}); B computing: {computed['firstTokenSeconds']:.2f} s; "
          f"tier {tier}", file=sys.stderr)

pulled = [r[1]["firstTokenSeconds"] for r in rows]
computed = [r[2]["firstTokenSeconds"] for r in rows]
print("| node B | first token s (runs) | median | prompt / reused / computed tokens |")
print("|---|---|---|---|")
print(f"| pulls node A's session | {', '.join(f'{x:.2f}' for x in pulled)} | **{statistics.median(pulled):.2f}** | "
      f"{rows[0][1]['promptTokens']} / {rows[0][1]['reusedTokens']} / {rows[0][1]['computedTokens']} |")
print(f"| computes the document | {', '.join(f'{x:.2f}' for x in computed)} | **{statistics.median(computed):.2f}** | "
      f"{rows[0][2]['promptTokens']} / {rows[0][2]['reusedTokens']} / {rows[0][2]['computedTokens']} |")
print(f"\nratio of the medians: **{statistics.median(pulled) / statistics.median(computed):.3f}**; "
      f"answers pulled {[r[1].get('answer', '') for r in rows][:1]} computed {[r[2].get('answer', '') for r in rows][:1]}; "
      f"load {[f'{r[3]:.2f}→{r[4]:.2f}' for r in rows]}")
