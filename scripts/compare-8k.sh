#!/usr/bin/env bash
# Time to answer over an ~8K-token document (issue 5): `actqkv run --method dense` and
# `--method actqkv` (embedded kvd, a fresh data directory per run) against llama.cpp dense
# (llama-cpp-python, same token ids, n_batch 512, Float32 K/V cache, flash attention off), 3
# alternating runs each, every run under `flock /tmp/cpu.lock`; prints a Markdown table of medians
# with the load average before and after each run.
#
# The document: the first 35,000 bytes of /usr/share/common-licenses/GPL-3 with a passkey line
# inserted after the first line break past the middle (≈ 7.7K tokens with the chat template).
# DOC=16k, 32k or 40k builds ≈ that many (SmolLM2) tokens from concatenated licences instead
# (passkey in the middle; Gemma's tokenizer needs ≈ 10 % fewer tokens for the same text).
#
# Usage: scripts/compare-8k.sh [runs (default 3)]
# Environment: ACTQKV_MODEL, ACTQKV_BIN (an already built actqkv; default: build the release
# product), METHODS (default dense,actqkv,llama.cpp; also infllm, llama.cpp-f16-fa = llama.cpp with
# its F16 K/V cache and flash attention), THREADS (default 2), DOC (8k, 16k, 32k or 40k),
# ANSWER_PREFIX (a completion prompt ending with it instead of --chat: base models such as Gemma 3).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
model=${ACTQKV_MODEL:-$(scripts/fetch-model.sh)}
case ",${METHODS:-dense,actqkv,llama.cpp}," in
  *,llama.cpp*) python3 -c "import llama_cpp" 2>/dev/null ||
    { echo "compare-8k: the llama.cpp methods need llama-cpp-python (scripts/compare-llamacpp.sh installs it)" >&2; exit 2; } ;;
esac
if [ -n "${ACTQKV_BIN:-}" ]; then actqkv=$ACTQKV_BIN; else
  flock /tmp/cpu.lock swift build -c release --product actqkv >&2
  actqkv=$(swift build -c release --show-bin-path)/actqkv
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work/doc.txt" "${DOC:-8k}" <<'PY'
import sys
lic = "/usr/share/common-licenses/"
line = "A note for the reader: the secret passkey of this document is 71942. Remember it.\n"
if sys.argv[2] == "8k":
    text = open(lic + "GPL-3").read()[:35000]
else:
    names = ["GPL-3", "Apache-2.0", "LGPL-3", "GPL-2", "LGPL-2.1", "MPL-2.0", "Artistic", "GFDL-1.3", "CC0-1.0"]
    text = "\n\n".join(open(lic + n).read() for n in names)
    text = (text + "\n\n" + text)[:int(sys.argv[2].rstrip("k")) * 4375]
i = text.index("\n", len(text) // 2) + 1
open(sys.argv[1], "w").write(text[:i] + line + text[i:])
PY
exec python3 scripts/compare_8k.py --actqkv "$actqkv" --model "$model" --input "$work/doc.txt" \
  --question "What is the secret passkey of this document? Answer with the number only." \
  --runs "$runs" --threads "${THREADS:-2}" --methods "${METHODS:-dense,actqkv,llama.cpp}" --work "$work" \
  ${ANSWER_PREFIX:+--answer-prefix "$ANSWER_PREFIX"}
