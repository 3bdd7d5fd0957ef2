#!/usr/bin/env bash
# Runs the whole test suite: set-up (Debian packages, the model), then every test target in a
# release build with testing enabled (the model tests need optimised code), then the Python
# client's tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export ACTQKV_MODEL=${ACTQKV_MODEL:-$(scripts/fetch-model.sh)}
export ACTQKV_GEMMA_MODEL=${ACTQKV_GEMMA_MODEL:-$(scripts/fetch-model.sh gemma3-270m)}
export ACTQKV_RULER_DATA=${ACTQKV_RULER_DATA:-$(scripts/fetch-ruler.sh)}
export ACTQKV_FIXTURES=${ACTQKV_FIXTURES:-$(cd .. && pwd)/shared/fixtures}
swift build -c release -Xswiftc -enable-testing --build-tests
# The Python client from this tree, installed first: the Swift tests run it too
# (KVClientTests' PythonInteropTests: python3 -m kvd_client and a kvd_client script).
python3 -m pip install --quiet --disable-pip-version-check './clients/python[test]'
# One run of every target. The tests' in-process kvd serves on threads of its own
# (DedicatedExecutor), and the daemon and client tests whose clients must act within a deadline
# (an idle timeout, a hang guard) run those clients on threads of their own too, so the model
# tests' long computations on Swift's cooperative pool delay neither.
swift test -c release -Xswiftc -enable-testing --skip-build "$@"
# Then the Python client's tests (clients/python, against the kvd just built, which they start
# themselves). Skipped when arguments select Swift tests.
if [ $# -eq 0 ]; then
  KVD_BIN="$PWD/.build/release/kvd" python3 -m pytest -q -p no:cacheprovider clients/python/tests
fi
