#!/usr/bin/env bash
# Fuzzes every parser that reads outside input with libFuzzer (coverage-guided; AddressSanitizer and
# LeakSanitizer on): report JSON as lockval reads and renders it, the learned-order store, suppressions
# files, and every environment setting. Each harness starts from the real files in Corpus/<harness>/ (copied:
# the committed seeds are not changed) and stops at the first crash, hang (-timeout) or leak, which it
# leaves in artifacts/ for a regression test.
#
# Usage: bash Fuzz/fuzz.sh [runs-per-harness] [harness...]   (default: 10,000,000 runs, every harness)
#        bash Fuzz/fuzz.sh --smoke                           (CI: 30,000 runs each, about a minute in all)
# A long campaign in several runs: FUZZ_CORPUS_DIR=dir keeps each harness's corpus in dir/<harness> (seeded
# from Corpus/ the first time), so that a run goes on from what the last one found; FUZZ_LOG_DIR keeps the
# logs. FUZZ_TIMEOUT (seconds, default 10) is wall time: under `nice -n 19` beside builds, raise it, or
# an input that waited for the CPU is reported as a hang.
set -euo pipefail
cd "$(dirname "$0")"
runs=10000000
if [ "${1:-}" = "--smoke" ]; then runs=30000; shift; elif [[ "${1:-}" =~ ^[0-9]+$ ]]; then runs=$1; shift; fi
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(FuzzSettings FuzzSuppressions FuzzStore FuzzReports)

# Every module instrumented, so that the parsers' own branches guide the fuzzer. gold cannot link
# libFuzzer's driver into a SwiftPM executable; lld can.
swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library \
    -Xcc -fsanitize=fuzzer-no-link,address -Xswiftc -use-ld=lld 2>&1 | grep -v "Cannot export local symbol" >&2

# Long enough for every kind of line and nesting the formats have; longer inputs only slow the search down
# (a report's JSON nests deepest). A store's records are lines of ~100–300 bytes: 4 KB holds every kind many
# times over, and keeps the search fast enough for 10 M inputs.
declare -A max_len=([FuzzSettings]=4096 [FuzzSuppressions]=8192 [FuzzStore]=4096 [FuzzReports]=65536)

work=$(mktemp -d)
corpora=${FUZZ_CORPUS_DIR:-$work}
# FUZZ_LOG_DIR keeps each harness's libFuzzer log (a long campaign's figures); otherwise they go with the run.
logs=${FUZZ_LOG_DIR:-$work}
mkdir -p "$logs"
trap 'rm -rf "$work"' EXIT
mkdir -p artifacts
status=0
for harness in "${harnesses[@]}"; do
    mkdir -p "$corpora/$harness"
    cp -n Corpus/"$harness"/* "$corpora/$harness/"
    echo "== $harness: $runs runs" >&2
    start=$(date +%s)
    # The Swift runtime's own backtracer would stop a crash report from ending the run.
    if ! SWIFT_BACKTRACE=enable=no ".build/release/$harness" -runs="$runs" -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb=4096 \
        -max_len="${max_len[$harness]}" -artifact_prefix="artifacts/$harness-" -print_final_stats=1 "$corpora/$harness" \
        >"$logs/$harness.log" 2>&1; then
        status=1
        tail -40 "$logs/$harness.log" >&2
        echo "== $harness: FAILED (the input is in Fuzz/artifacts/)" >&2
        continue
    fi
    grep -E "^stat::(number_of_executed_units|peak_rss_mb|new_units_added)|cov: " "$logs/$harness.log" | tail -4 >&2
    echo "== $harness: $runs runs, no crash, hang or leak, in $(( $(date +%s) - start )) s" >&2
done
exit $status
