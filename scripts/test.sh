#!/usr/bin/env bash
# Passes the tests on a fresh machine: installs libunwind-dev when missing, then
#   1. the validator's tests under ThreadSanitizer (the validator's own thread-safety),
#   2. the lock-behaviour suites with the Validation trait off (plain spin locks keep IRQL semantics),
#      then the DocC documentation of the three libraries, which must build without a warning,
#   3. the whole suite with validation on, as users build it (last, so its summary closes the run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

echo "== 1/3 swift test --sanitize=thread"
# Under ThreadSanitizer everything runs 5-15x slower, so hold times mean nothing: the hold-time suites are
# skipped, as are the examples (one of them is a long hold), and the budget raised (the timing code still
# runs, for its thread-safety). The pthread interposer defines the functions TSan intercepts, so its
# end-to-end suites (PthreadInterpositionTests, DeadlockWatchdogTests, CrossProcessTests, EndToEndTests,
# BlockingCallTests, MutexOverlayTests, DeadlockConfirmationTests,
# DispatchQueueShapeTests, CrashWhileHoldingTests), whose children link it, run only in stage 3.
LOCKVALIDATOR_HOLD_BUDGET_US=1000000 swift test --sanitize=thread --scratch-path .build-tsan \
    --skip "HoldTimeTests|HoldTimePageFaultTests|AnnotatedHoldTimeTests|ExamplesTests|PthreadInterpositionTests|DeadlockWatchdogTests|CrossProcessTests|EndToEndTests|BlockingCallTests|MutexOverlayTests|DeadlockConfirmationTests|DispatchQueueShapeTests|CrashWhileHoldingTests" \
    2>&1 | tee .build-tsan.log
if grep -q "WARNING: ThreadSanitizer" .build-tsan.log; then
    echo "ThreadSanitizer reported a race (see above)" >&2
    exit 1
fi

echo "== 2/3 swift test with the Validation trait off"
swift test --disable-default-traits --scratch-path .build-novalidation \
    --filter "SpinLockStressTests|InterruptAndDpcTests|InterlockedQueueTests|ConsistentOrderTests"

echo "== documentation builds without warnings"
# Its own scratch path, so that it does not disturb .build; the archives go to .build-docs/docs/<target>.
for target in LockValidator SpinLocks LockValidatorTesting LockValidatorPthreads; do
    rm -rf ".build-docs/docs/$target"
    mkdir -p .build-docs/docs
    swift package --scratch-path .build-docs --allow-writing-to-directory .build-docs \
        generate-documentation --target "$target" --warnings-as-errors --output-path ".build-docs/docs/$target"
done

echo "== the benchmark package builds (timed runs: bash Benchmarks/compare.sh)"
swift build --package-path Benchmarks -c release

echo "== the parsers survive a short fuzz run (30,000 inputs each; campaigns: bash Fuzz/fuzz.sh)"
bash Fuzz/fuzz.sh --smoke

echo "== 3/3 swift build, the demo, swift test"
swift build
# The end-to-end package (Tests/EndToEnd), whose test binary EndToEndTests runs: this repository by path,
# as a user's package depends on it.
# Its tests' Mutexes go through the Mutex overlay.
swift run lockval overlay -o Tests/EndToEnd/.build/lockvalidator-overlay
swift build --build-tests --package-path Tests/EndToEnd
swift run Demo > /dev/null  # exits non-zero when a seed scenario does not report exactly its rules
swift test
