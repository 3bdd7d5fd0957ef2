#!/usr/bin/env bash
# Fuzzes the wire protocol's receive path with libFuzzer + AddressSanitizer/LeakSanitizer:
# frame splitting and header validation and Message.decode of every message type under three
# ProtocolLimits profiles, with a decode → encode → decode round-trip check
# (Fuzz/ProtocolFuzzer/ProtocolFuzzer.swift describes the input layout and the properties).
#
# Usage: scripts/fuzz-protocol.sh [RUNS [extra libFuzzer flags…]]
#   RUNS  inputs to run (default 10000000); 0 = until stopped.
# Environment: FUZZ_DIR (default .build/fuzz-protocol) holds the binaries, the corpus and any
# crash-* / leak-* / timeout-* reproducer. One fuzzing process (the figures are counted in it).
# Reproduce a finding: $FUZZ_DIR/protocol-fuzzer $FUZZ_DIR/crash-…
#
# Not part of `swift build`: the sources live outside Sources/ and are compiled here with
# swiftc: Sources/CoreTypes and Sources/Protocol as their own modules (instrumented), then the
# fuzz target importing them.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-10000000}
shift || true
OUT=${FUZZ_DIR:-.build/fuzz-protocol}
mkdir -p "$OUT/instrumented" "$OUT/plain" "$OUT/corpus" "$OUT/seeds"
shopt -s globstar
CORE_SOURCES=(Sources/CoreTypes/**/*.swift)
PROTOCOL_SOURCES=(Sources/Protocol/**/*.swift)

echo "== building (swiftc $(swiftc --version 2>&1 | head -1 | sed 's/.*version \([^ ]*\).*/\1/'))"
# CoreTypes and Protocol, instrumented for coverage (fuzzer) and memory errors (address).
for module in CoreTypes Protocol; do
    sources=CORE_SOURCES[@]
    [ "$module" = Protocol ] && sources=PROTOCOL_SOURCES[@]
    swiftc -sanitize=fuzzer,address -O -g -wmo -parse-as-library -swift-version 6 -module-name "$module" \
        -I "$OUT/instrumented" -emit-module -emit-module-path "$OUT/instrumented/$module.swiftmodule" \
        -c -o "$OUT/instrumented/$module.o" "${!sources}"
done
swiftc -sanitize=fuzzer,address -O -g -parse-as-library -swift-version 6 -I "$OUT/instrumented" \
    Fuzz/ProtocolFuzzer/ProtocolFuzzer.swift "$OUT/instrumented/CoreTypes.o" "$OUT/instrumented/Protocol.o" \
    -o "$OUT/protocol-fuzzer" 2> >(grep -v "Cannot export local symbol '__asan" >&2)
# The seed generator, with uninstrumented modules and the tests' RandomMessages.
for module in CoreTypes Protocol; do
    sources=CORE_SOURCES[@]
    [ "$module" = Protocol ] && sources=PROTOCOL_SOURCES[@]
    swiftc -O -wmo -parse-as-library -swift-version 6 -module-name "$module" -I "$OUT/plain" \
        -emit-module -emit-module-path "$OUT/plain/$module.swiftmodule" \
        -c -o "$OUT/plain/$module.o" "${!sources}"
done
swiftc -O -swift-version 6 -I "$OUT/plain" Fuzz/ProtocolFuzzer/SeedCorpus/main.swift \
    Tests/ProtocolTests/RandomMessages.swift "$OUT/plain/CoreTypes.o" "$OUT/plain/Protocol.o" -o "$OUT/seed-corpus"
"$OUT/seed-corpus" "$OUT/seeds" 8

echo "== fuzzing: $RUNS inputs, corpus $OUT/corpus (seeds $OUT/seeds)"
start=$(date +%s)
status=0
# -max_len 16384: the seeds go up to ~13 KB (checkpoints, block batches); -timeout 10 s per input
# is a hang; -rss_limit_mb 2048 an unbounded allocation; leak detection is on (ASan's LSan).
FLAGS=(-runs="$RUNS" -max_len=16384 -timeout=10 -rss_limit_mb=2048 -detect_leaks=1 -print_final_stats=1
       -artifact_prefix="$OUT/" "$@")
# SWIFT_BACKTRACE=enable=no: libFuzzer and ASan print the stack of a finding themselves; Swift's
# own backtracer would attach to the dying process and hold the output pipe open for minutes.
SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
    "$OUT/protocol-fuzzer" "${FLAGS[@]}" "$OUT/corpus" "$OUT/seeds" 2>&1 | tee "$OUT/last-run.log" | \
    grep -v -E '^(#[0-9]+\s+(NEW|REDUCE|pulse)|"|###### )' || status=${PIPESTATUS[0]}
end=$(date +%s)
echo "== finished in $((end - start)) s, exit status $status; corpus $(ls "$OUT/corpus" | wc -l) inputs; full log $OUT/last-run.log"
ls "$OUT" | grep -E '^(crash|leak|timeout|oom|slow-unit)-' && status=1 || true
exit "$status"
