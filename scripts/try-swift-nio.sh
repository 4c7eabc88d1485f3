#!/usr/bin/env bash
# Validates every pthread lock in swift-nio's own tests: clones swift-nio at a released tag, adds
# LockValidatorPthreads to its NIOConcurrencyHelpersTests and NIOPosixTests targets (a few lines appended
# to its Package.swift, nothing else), runs those suites under XCTest and Swift Testing with
# LOCKVALIDATOR_REPORT and a learned-order store (LOCKVALIDATOR_GRAPH) set, prints every violation, and
# runs `lockval check` over both reports and the store. Not run by CI (it builds swift-nio: ~10 min).
#
# Usage: bash scripts/try-swift-nio.sh [work-directory]     (default: $TMPDIR/lockvalidator-swift-nio)
#        PLAIN=1 bash scripts/try-swift-nio.sh               (also time the same tests without the product)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-${TMPDIR:-/tmp}/lockvalidator-swift-nio}"
tag=2.101.3
suites="NIOConcurrencyHelpersTests|NIOPosixTests"

if [ ! -d "$work/.git" ]; then
    git clone -q --depth 1 --branch "$tag" https://github.com/apple/swift-nio.git "$work"
fi
cd "$work"
git checkout -q -- Package.swift

run_suites() {  # $1: report-name prefix; the status is the tests', not this script's
    local reports="$work/lockvalidator-reports"
    mkdir -p "$reports"
    rm -f "$reports/$1"-*.json
    # LOCKVALIDATOR_EXIT_CODE=0: a violation shows in the report, and fails nothing here.
    # The store starts empty: the Swift Testing run validates against what the XCTest run learned.
    rm -rf "$reports/$1-store"
    export LOCKVALIDATOR_GRAPH="$reports/$1-store/"
    LOCKVALIDATOR_REPORT="$reports/$1-xctest.json" LOCKVALIDATOR_EXIT_CODE=0 \
        swift test --skip-build --disable-swift-testing --filter "$suites" >"$reports/$1-xctest.log" 2>&1 || true
    LOCKVALIDATOR_REPORT="$reports/$1-swift-testing.json" LOCKVALIDATOR_EXIT_CODE=0 \
        swift test --skip-build --disable-xctest --filter "$suites" >"$reports/$1-swift-testing.log" 2>&1 || true
    unset LOCKVALIDATOR_GRAPH
}

if [ -n "${PLAIN:-}" ]; then
    echo "== swift-nio $tag, plain" >&2
    swift build --build-tests >/dev/null
    start=$(date +%s.%N)
    run_suites plain
    echo "plain: $(echo "$(date +%s.%N) - $start" | bc) s" >&2
fi

echo "== swift-nio $tag with LockValidatorPthreads in $suites" >&2
identity=$(basename "$here" | tr '[:upper:]' '[:lower:]')
cat >>Package.swift <<SWIFT

// Added by LockValidator's scripts/try-swift-nio.sh: validate every pthread lock in these test targets.
package.dependencies.append(.package(path: "$here"))
for target in package.targets where ["NIOConcurrencyHelpersTests", "NIOPosixTests"].contains(target.name) {
    target.dependencies.append(.product(name: "LockValidatorPthreads", package: "$identity"))
}
SWIFT
swift build --build-tests >/dev/null
start=$(date +%s.%N)
run_suites validated
echo "validated: $(echo "$(date +%s.%N) - $start" | bc) s" >&2
git checkout -q -- Package.swift

swift build --package-path "$here" --product lockval >/dev/null
lockval="$here/.build/debug/lockval"
for report in "$work"/lockvalidator-reports/validated-*.json; do
    echo "== $(basename "$report")"
    grep -E "Executed [0-9]+ tests|Test run with" "${report%.json}.log" | tail -1 || true
    "$lockval" show "$report" || true
done
echo "== lockval check: both processes' reports and the store they shared"
"$lockval" store show "$work/lockvalidator-reports/validated-store/" | sed -n 1p
"$lockval" check "$work"/lockvalidator-reports/validated-*.json "$work/lockvalidator-reports/validated-store/" \
    | tail -2 || true
