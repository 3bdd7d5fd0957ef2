"""Command line: ``python3 -m kvd_client --socket PATH COMMAND ...``, JSON on stdout.

Commands:
  sessions                      every session visible to the caller
  stats                         the daemon's statistics
  retrieve NAME --layer L --probe FILE [--method M] [--mode M] [--chunk N] [--payloads]
                                the chosen blocks' ids (hex) and positions; FILE holds the
                                probe as raw little-endian float32 (D of them), or a .npy
  fork SOURCE TARGET [--blocks N]

It exists so that other implementations (the Swift tests) can compare their results with this
client's on the same daemon. Exit status 1 with the error's name and code on stderr when the
daemon answers with an error.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict, List, Optional

import numpy as np

from .client import Client
from .errors import KVDError
from .protocol import ALL_BLOCKS, Method, Mode, SessionInfo


def _info(info: SessionInfo) -> Dict[str, Any]:
    d = info.descriptor
    return {"name": info.name, "ownerUID": info.owner_uid,
            "descriptor": {"layers": d.layers, "queryHeads": d.query_heads,
                           "kvHeads": d.kv_heads, "headDim": d.head_dim,
                           "elementType": d.element_type, "blockSize": d.block_size,
                           "fingerprint": d.fingerprint},
            "hasCheckpoint": info.has_checkpoint,
            "checkpointSequence": info.checkpoint_sequence, "storedBytes": info.stored_bytes,
            "blockCounts": list(info.block_counts)}


def _probe(path: str) -> np.ndarray:
    if path.endswith(".npy"):
        return np.load(path).astype(np.float32).reshape(-1)
    return np.fromfile(path, dtype="<f4")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m kvd_client", description=__doc__)
    parser.add_argument("--socket", default="/run/kvd/kvd.sock")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per reply")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("sessions")
    commands.add_parser("stats")
    retrieve = commands.add_parser("retrieve")
    retrieve.add_argument("session")
    retrieve.add_argument("--layer", type=int, required=True)
    retrieve.add_argument("--probe", required=True)
    retrieve.add_argument("--method", default="actqkv",
                          choices=[m.name.lower().replace("_", "-") for m in Method])
    retrieve.add_argument("--mode", default="prefill", choices=["prefill", "decode"])
    retrieve.add_argument("--chunk", type=int, default=0, help="chunk sequence number")
    retrieve.add_argument("--payloads", action="store_true")
    fork = commands.add_parser("fork")
    fork.add_argument("source")
    fork.add_argument("target")
    fork.add_argument("--blocks", type=int, default=ALL_BLOCKS)
    args = parser.parse_args(argv)
    try:
        with Client(args.socket, timeout=args.timeout) as client:
            result: Any
            if args.command == "sessions":
                result = [_info(i) for i in client.all_sessions()]
            elif args.command == "stats":
                s = client.stats()
                result = {"uptimeSeconds": s.uptime_seconds, "connections": s.connections,
                          "sessions": s.sessions, "blocks": s.blocks,
                          "storedBytes": s.stored_bytes, "requests": s.requests,
                          "errors": s.errors, "counters": s.counters}
            elif args.command == "retrieve":
                client.open_session(args.session)
                reply = client.retrieve(
                    args.session, args.layer, _probe(args.probe),
                    method=Method[args.method.upper().replace("-", "_")],
                    mode=Mode[args.mode.upper()], chunk_sequence=args.chunk,
                    want_payloads=args.payloads)
                result = {"k": reply.k, "totalBlocks": reply.total_blocks,
                          "entropy": reply.entropy, "density": reply.density,
                          "ids": [i.hex().upper() for i in reply.ids],
                          "positions": [int(p) for p in reply.positions],
                          "payloadIndices": [int(i) for i in reply.payload_indices]}
            else:
                result = _info(client.fork_session(args.source, args.target, args.blocks))
    except KVDError as error:
        print(f"kvd_client: {error}", file=sys.stderr)
        return 1
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
