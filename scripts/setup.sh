#!/usr/bin/env bash
# One-time set-up on a Debian machine: installs the C libraries the package links against
# (when missing) and fetches the default model and RULER's data into the cache directory
# (outside git).
# Idempotent: a second run does nothing. Run as root or with sudo available.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

# librsvg2-bin: rsvg-convert, with which the evaluation tests check that the eval's pictures render;
# curl: the server tests send requests with it; redis-server and redis-tools: the shared tier's
# tests start a Redis Cluster of their own (libhiredis-dev is its client library, libssl-dev its
# TLS; openssl makes the test clusters' certificates).
packages=(liblmdb-dev libzstd-dev libopenblas-dev libhiredis-dev libssl-dev openssl systemd librsvg2-bin curl redis-server redis-tools)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The operations tests parse kvd's metrics with the reference Prometheus text parser.
python3 -c "import prometheus_client" 2>/dev/null || python3 -m pip install --quiet prometheus-client
# The server tests drive `actqkv serve` with OpenAI's official Python client.
python3 -c "import openai" 2>/dev/null || python3 -m pip install --quiet openai

"$here/fetch-model.sh" >/dev/null
"$here/fetch-ruler.sh" >/dev/null
