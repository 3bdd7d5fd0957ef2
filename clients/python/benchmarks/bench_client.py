#!/usr/bin/env python3
"""Benchmark of the Python client against a running kvd, on the workload of `kvctl bench`
(docs/BENCHMARKS.md, "## kvd"), so the two clients can be compared in one run.

    python3 clients/python/benchmarks/bench_client.py --socket /tmp/kvb/s [--json]

Per run (a fresh session, dropped afterwards), SmolLM2-135M shape (30 layers, 9/3 heads,
d = 64, b = 32, fp16: P = 24 576 bytes, D = 576):

- append, 1 conn: layer 0 grown to each size with appends of 32 blocks, one in flight;
- append, pipelined: `--pipeline` appends of 32 blocks in flight (submit_append_blocks) on the
  last layer, `--pipelined-bytes` of payload;
- retrieve p50/p99 at each size: `--retrieves` requests (infllm, a random stored key as probe,
  the daemon's K), without and with payloads (nothing held);
- tiny round trip p50: open_session of a session the connection holds.

MB/s are of raw payload bytes (10^6 bytes); latencies in µs, as seen by the caller.
Data: fp16 K/V with log-normal per-channel scales, a few outlier channels, per-channel means and
AR(1) drift along tokens; 64 distinct payloads cycled; 1024 Gaussian representative keys.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Dict, List

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from kvd_client import Client, Descriptor, ElementType, Method, Mode  # noqa: E402

SMOLLM2 = Descriptor(layers=30, query_heads=9, kv_heads=3, head_dim=64,
                     element_type=ElementType.FP16, block_size=32, fingerprint=0x5150)
BATCH = 32


def make_payloads(d: Descriptor, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` structured fp16 payloads, (count, 2, kvHeads, blockSize, headDim)."""
    shape = (count, 2, d.kv_heads, d.block_size, d.head_dim)
    scale = np.exp(rng.normal(0.0, 0.7, (1, 2, d.kv_heads, 1, d.head_dim)))
    outliers = rng.random((1, 2, d.kv_heads, 1, d.head_dim)) < 0.03
    scale = np.where(outliers, scale * 8.0, scale)
    mean = rng.normal(0.0, 0.5, (1, 2, d.kv_heads, 1, d.head_dim))
    noise = rng.standard_normal(shape)
    drift = np.empty(shape)
    drift[:, :, :, 0] = noise[:, :, :, 0]
    for t in range(1, d.block_size):  # AR(1) along tokens
        drift[:, :, :, t] = 0.9 * drift[:, :, :, t - 1] + np.sqrt(1 - 0.81) * noise[:, :, :, t]
    return (mean + scale * drift).astype(np.float16)


def p(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_once(client: Client, run: int, sizes: List[int], retrieves: int, pipeline: int,
             pipelined_bytes: int, rng: np.random.Generator) -> Dict[str, object]:
    d = SMOLLM2
    session = f"pybench-{os.getpid()}-{run}"
    payloads = make_payloads(d, 64, rng)
    keys = rng.standard_normal((1024, d.vector_dim)).astype(np.float32)
    client.create_session(session, d)
    result: Dict[str, object] = {}
    try:
        stored = 0
        append_seconds = 0.0
        for size in sizes:
            while stored < size:
                n = min(BATCH, size - stored)
                index = np.arange(stored, stored + n)
                hashes = [int(i).to_bytes(16, "little") for i in index]
                batch_keys, batch_payloads = keys[index % 1024], payloads[index % 64]
                started = time.perf_counter()  # the client's encoding, I/O and the daemon
                client.append_blocks(session, [0] * n, index, hashes, batch_keys,
                                     batch_payloads)
                append_seconds += time.perf_counter() - started
                stored += n
            # As `kvctl bench`: decode-mode retrieves, one chunk each, with and without
            # payloads alternating.
            times: Dict[bool, List[float]] = {False: [], True: []}
            for i in range(2 * retrieves):
                with_payloads = i % 2 == 1
                probe = keys[rng.integers(0, min(size, 1024))]
                started = time.perf_counter()
                reply = client.retrieve(session, 0, probe, method=Method.INFLLM, mode=Mode.DECODE,
                                        chunk_sequence=i, want_payloads=with_payloads)
                times[with_payloads].append(time.perf_counter() - started)
            for with_payloads, label in ((False, "no payloads"), (True, "with payloads")):
                result[f"retrieve p50 {label}, N={size} (µs)"] = p(times[with_payloads], 0.5) * 1e6
                result[f"retrieve p99 {label}, N={size} (µs)"] = p(times[with_payloads], 0.99) * 1e6
            result[f"retrieve chosen, N={size}"] = len(reply.ids)
        result["append 1 conn (MB/s)"] = stored * d.payload_bytes / 1e6 / append_seconds
        # Pipelined: `pipeline` requests in flight on the last layer.
        layer = d.layers - 1
        blocks = pipelined_bytes // d.payload_bytes // BATCH * BATCH
        batches = []
        for first in range(0, blocks, BATCH):
            index = np.arange(first, first + BATCH)
            batches.append((index, [int(i + (1 << 40)).to_bytes(16, "little") for i in index],
                            keys[index % 1024], payloads[(index * 7) % 64]))
        pending = []
        started = time.perf_counter()
        for index, hashes, batch_keys, batch_payloads in batches:
            pending.append(client.submit_append_blocks(session, [layer] * BATCH, index, hashes,
                                                       batch_keys, batch_payloads))
            if len(pending) >= pipeline:
                pending.pop(0).result()
        for request in pending:
            request.result()
        result["append pipelined (MB/s)"] = \
            blocks * d.payload_bytes / 1e6 / (time.perf_counter() - started)
        times = []
        for _ in range(500):
            started = time.perf_counter()
            client.open_session(session)
            times.append(time.perf_counter() - started)
        result["tiny round trip p50 (µs)"] = p(times, 0.5) * 1e6
    finally:
        client.drop_session(session)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--socket", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="1024,4096", help="blocks per layer, ascending")
    parser.add_argument("--retrieves", type=int, default=200)
    parser.add_argument("--pipeline", type=int, default=4)
    parser.add_argument("--pipelined-bytes", type=int, default=64 << 20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    sizes = [int(s) for s in args.sizes.split(",")]
    runs = []
    with Client(args.socket, timeout=120) as client:
        for run in range(args.runs):
            runs.append(run_once(client, run, sizes, args.retrieves, args.pipeline,
                                 args.pipelined_bytes, rng))
    medians = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    if args.json:
        print(json.dumps({"runs": runs, "median": medians}, indent=1))
    else:
        for key, value in medians.items():
            print(f"{key:48s} {value:12.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
