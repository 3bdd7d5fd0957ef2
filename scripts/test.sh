#!/usr/bin/env bash
# Runs the whole test suite: set-up (Debian packages, the model), then every test target in a
# release build with testing enabled (the model tests need optimised code).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export ACTQKV_MODEL=${ACTQKV_MODEL:-$(scripts/fetch-model.sh)}
export ACTQKV_FIXTURES=${ACTQKV_FIXTURES:-$(cd .. && pwd)/shared/fixtures}
swift build -c release -Xswiftc -enable-testing --build-tests
exec swift test -c release -Xswiftc -enable-testing --skip-build "$@"
