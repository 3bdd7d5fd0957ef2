#!/usr/bin/env bash
# Node B's time to first token over a document node A computed and published to the shared tier
# (issue 17, docs/TIER.md), against computing the document on B: a Redis Cluster on loopback
# (scripts/local-redis-cluster.sh), per round a fresh kvd A (`kvd serve --remote …`) whose worker
# (`actqkv run --session doc`) computes the document and answers a first question; once A has
# published, A is stopped and its data directory deleted; then on a fresh kvd B one worker asks a
# second question over `--session doc` (pulling the session, computing only the suffix) and one
# computes the same prompt itself (another session name). Prints a Markdown table of
# firstTokenSeconds per run and the ratio of the medians; kvd B's tier counters per round.
#
# The document: as scripts/compare-8k.sh's (the first 35,000 bytes of GPL-3 with a passkey line
# after the middle, ≈ 7.7K SmolLM2 tokens with the chat template).
#
# Usage: scripts/bench-tier.sh [rounds (default 3)]
# Environment: ACTQKV_MODEL, BIN (the directory of built actqkv, kvd and kvctl; default: build
# the release products), PORT (the cluster's first port, default 7300).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
model=${ACTQKV_MODEL:-$(scripts/fetch-model.sh)}
if [ -z "${BIN:-}" ]; then
  swift build -c release --product actqkv >&2 && swift build -c release --product kvd >&2 && swift build -c release --product kvctl >&2
  BIN=$(swift build -c release --show-bin-path)
fi
work=$(mktemp -d)
cleanup() { scripts/local-redis-cluster.sh stop "$work/cluster" || true; rm -rf "$work"; }
trap cleanup EXIT
remote=$(scripts/local-redis-cluster.sh start "$work/cluster" "${PORT:-7300}")
python3 - "$work/doc.txt" <<'PY'
import sys
line = "A note for the reader: the secret passkey of this document is 71942. Remember it.\n"
text = open("/usr/share/common-licenses/GPL-3").read()[:35000]
i = text.index("\n", len(text) // 2) + 1
open(sys.argv[1], "w").write(text[:i] + line + text[i:])
PY
python3 scripts/bench_tier.py --bin "$BIN" --model "$model" --remote "$remote" --input "$work/doc.txt" \
  --rounds "$rounds" --work "$work"
