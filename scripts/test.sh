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
# Two runs. kvd itself now serves on threads of its own (DedicatedExecutor), so the model tests
# no longer delay the in-process daemon; but the daemon and client tests' own clients still run
# on Swift's cooperative pool, which the model tests' long computations hold for minutes on a
# 2-core machine (a 1-second idle-timeout test and a 60-second hang guard failed that way in one
# run). Until those computations leave the pool, the daemon-side targets run first, alone; the
# second run is every other target, so a new test target is never left out.
daemon_targets='^(CoreTypesTests|ProtocolTests|KVStoreTests|KVDaemonTests|KVClientTests)\.'
swift test -c release -Xswiftc -enable-testing --skip-build --filter "$daemon_targets"
swift test -c release -Xswiftc -enable-testing --skip-build --skip "$daemon_targets"
