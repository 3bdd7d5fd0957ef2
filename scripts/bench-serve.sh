#!/usr/bin/env bash
# Benchmarks `actqkv serve` against llama.cpp's OpenAI-compatible server (llama-cpp-python[server])
# on the same model and machine, in one run: time to first token for a 4K and 8K document — first
# request, the same request repeated, a new question over it, and a new question after both
# servers restart — and tokens/s with 1 and 4 concurrent clients (scripts/bench_serve.py says
# how). Not part of CI: the first run builds llama.cpp from source (≈ 5 minutes).
#
# Usage: scripts/bench-serve.sh [runs (default 3)] [out.json (default bench-serve.json)]
# Environment: ACTQKV_MODEL (model file; default SmolLM2), ACTQKV_CACHE (venv location),
# ACTQKV_BIN (an already built actqkv; default: build the release product), LENGTHS (default 4096,8192).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
out=${2:-bench-serve.json}
model=${ACTQKV_MODEL:-$(scripts/fetch-model.sh)}
cache=${ACTQKV_CACHE:-$HOME/.cache/actqkv}
venv="$cache/llamacpp-server-venv"

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import llama_cpp.server, openai" 2>/dev/null; then
  echo "bench-serve: installing llama-cpp-python[server] 0.3.36 into $venv (builds llama.cpp)" >&2
  if [ -z "${CMAKE_ARGS:-}" ] && grep -qw amx_tile /proc/cpuinfo; then
    # As scripts/compare-llamacpp.sh: no AMX where a VM may not grant the tile state.
    export CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON -DGGML_AVX_VNNI=ON"
  fi
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "llama-cpp-python[server]==0.3.36" openai
fi

if [ -n "${ACTQKV_BIN:-}" ]; then
  actqkv=$ACTQKV_BIN
else
  swift build -c release --product actqkv >&2
  actqkv=$(swift build -c release --show-bin-path)/actqkv
fi
exec "$venv/bin/python" scripts/bench_serve.py "$actqkv" "$venv/bin/python" "$model" "$out" --runs "$runs" --lengths "${LENGTHS:-4096,8192}"
