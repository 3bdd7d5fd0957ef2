#!/usr/bin/env bash
# The main job: set-up, a release build, then a real model (SmolLM2-135M-Instruct) answering a
# question over a long input (about 11K tokens, beyond the model's 8K training context)
# with ActQKV attention, every past KV block living in an embedded kvd daemon on the default
# LMDB data directory. The input is built from Debian's licence texts with one fact hidden in
# the middle; the question asks for it.
#
# Environment: ACTQKV_METHOD (default actqkv), ACTQKV_INPUT (use your own document instead),
# ACTQKV_QUESTION (with ACTQKV_INPUT).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
model=$(scripts/fetch-model.sh)
swift build -c release --product actqkv >/dev/null

work=${ACTQKV_CACHE:-$HOME/.cache/actqkv}/main-job
mkdir -p "$work"
input=${ACTQKV_INPUT:-}
question=${ACTQKV_QUESTION:-}
if [ -z "$input" ]; then
  input="$work/document.txt"
  licences=/usr/share/common-licenses
  {
    cat "$licences/GPL-3"
    printf '\nA note for the reader: the secret passkey of this document is 71942. Remember it.\n\n'
    cat "$licences/Apache-2.0"
  } > "$input"
  question="What is the secret passkey of this document? Answer with the number only."
fi
[ -n "$question" ] || { echo "run-main: ACTQKV_QUESTION is required with ACTQKV_INPUT" >&2; exit 2; }

exec "$(swift build -c release --show-bin-path)/actqkv" run \
  --model "$model" --input "$input" --question "$question" \
  --method "${ACTQKV_METHOD:-actqkv}" --chat --max-tokens 24
