#!/usr/bin/env bash
# Runs the whole test suite: set-up (Debian packages, the model), then every test target in a
# release build with testing enabled (the model tests need optimised code).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export ACTQKV_MODEL=${ACTQKV_MODEL:-$(scripts/fetch-model.sh)}
export ACTQKV_FIXTURES=${ACTQKV_FIXTURES:-$(cd .. && pwd)/shared/fixtures}
swift build -c release -Xswiftc -enable-testing --build-tests
if [ $# -gt 0 ]; then
    exec swift test -c release -Xswiftc -enable-testing --skip-build "$@"
fi
# Two runs. The tests that talk to an in-process kvd come first, alone: that daemon serves
# requests on Swift's cooperative pool (one thread per core), which the model tests' long
# computations and the end-to-end tests' waits for child processes would otherwise hold for
# longer than the daemon tests' 30-second socket timeouts on a 2-core machine. The second run is
# every other target, so a new test target is never left out.
daemon_targets='^(ProtocolTests|KVStoreTests|KVDaemonTests|KVClientTests)\.'
swift test -c release -Xswiftc -enable-testing --skip-build --filter "$daemon_targets"
swift test -c release -Xswiftc -enable-testing --skip-build --skip "$daemon_targets"
