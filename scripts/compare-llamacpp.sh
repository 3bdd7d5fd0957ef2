#!/usr/bin/env bash
# Benchmarks `actqkv generate` against llama.cpp (through llama-cpp-python) on the same model,
# the same token ids and the same machine, in one run: prefill tokens/s at 512 and 2048 prompt
# tokens and greedy decode ms/token, each the median of several alternating runs, plus peak
# resident memory. Not part of CI: the first run builds llama.cpp from source (≈ 5 minutes).
#
# Usage: scripts/compare-llamacpp.sh [runs (default 3)] [decode tokens (default 64)]
# Environment: ACTQKV_MODEL (model file), ACTQKV_CACHE (venv location), THREADS (default: nproc),
# ACTQKV_BIN (an already built actqkv binary; default: build the release product),
# ACTQKV_BASELINE_BIN (an older actqkv binary measured alongside, for before/after ratios),
# F32=1 (also measure actqkv with --activations f32), LENGTHS (prompt lengths, default 512,2048),
# FIXTURE (the llama.cpp fixture whose prompt ids are repeated; default the SmolLM2 `long` one —
# use llamacpp-gemma3/logits/window.json with Gemma 3).
# llama.cpp runs with Float32 K/V cache (type_k = type_v = 0), flash attention off, n_batch 512.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
decode=${2:-64}
threads=${THREADS:-$(nproc)}
model=${ACTQKV_MODEL:-$(scripts/fetch-model.sh)}
cache=${ACTQKV_CACHE:-$HOME/.cache/actqkv}
venv="$cache/llamacpp-venv"

if python3 -c "import llama_cpp" 2>/dev/null; then
  python=python3  # already installed for this interpreter
elif [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import llama_cpp" 2>/dev/null; then
  echo "compare-llamacpp: installing llama-cpp-python 0.3.36 into $venv (builds llama.cpp)" >&2
  if [ -z "${CMAKE_ARGS:-}" ] && grep -qw amx_tile /proc/cpuinfo; then
    # A native build uses AMX where the CPU reports it; a VM that does not grant the AMX tile
    # state then dies with SIGILL in the first product: build the AVX-512 kernels without AMX.
    export CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON -DGGML_AVX_VNNI=ON"
  fi
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "llama-cpp-python==0.3.36"
fi
python=${python:-$venv/bin/python}

if [ -n "${ACTQKV_BIN:-}" ]; then
  actqkv=$ACTQKV_BIN
else
  swift build -c release --product actqkv >&2
  actqkv=$(swift build -c release --show-bin-path)/actqkv
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The prompts: the Apache-2.0 licence prompt of the llama.cpp fixtures, repeated to length.
lengths=${LENGTHS:-512,2048}
fixture=${ACTQKV_FIXTURES:-$(cd .. && pwd)/shared/fixtures}/${FIXTURE:-llamacpp-smollm2/logits/long.json}
"$python" - "$fixture" "$work" "$lengths" <<'PY'
import json, sys
ids = json.load(open(sys.argv[1]))["ids"]
for n in map(int, sys.argv[3].split(",")):
    seq = (ids * (n // len(ids) + 1))[:n]
    open(f"{sys.argv[2]}/ids{n}.txt", "w").write(" ".join(map(str, seq)))
PY

exec "$python" scripts/compare_llamacpp.py --model "$model" --actqkv "$actqkv" --work "$work" \
  --runs "$runs" --decode "$decode" --threads "$threads" --lengths "$lengths" ${ACTQKV_BASELINE_BIN:+--baseline "$ACTQKV_BASELINE_BIN"} ${F32:+--f32}
