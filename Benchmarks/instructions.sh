#!/usr/bin/env bash
# Instructions and stores (data writes) per operation on the validator's hot paths, counted by callgrind:
# the same on any machine and under any load, so that a regression shows where times cannot (VM noise,
# AMD against Intel). Stores count apart: a core that commits one store a cycle (Intel's before Ice Lake)
# spends a cycle on each, and a locked compare-and-swap waits until every earlier one is committed.
# Each scenario of Measurements/InstructionCounts runs under callgrind, counting only inside its
# `measured…` function; `pthread-pair` is Peers/pthread_pairs.c under the release LockValidatorPreload (the
# interposed uncontended mutex pair); `write` and `usleep` are Peers/blocking_calls.c's 1-byte write to
# /dev/null and usleep(0) under it with nothing held (what the interposer adds to a call that may block),
# `raw-write` and `raw-usleep` the same without it. Each scenario of the first kinds runs again built with
# `-c debug` (the `-debug` rows): what a user's plain `swift test` builds, for SwiftPM compiles a dependency
# unoptimised in a debug build. Left out: the thread CPU-time snapshot, which depends on time (natively it runs
# once per 100 µs of a thread's lock activity, under callgrind far more often); and the hold budget is
# raised to 1 s so that no class is traced as a suspect of a long hold.
# Usage: bash Benchmarks/instructions.sh [--update]   (--update rewrites instructions-baseline.txt)
# Exits 1 when a scenario costs over 3 % more instructions or stores than Benchmarks/instructions-baseline.txt.
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
swift build -c release --product InstructionCounts >&2
# valgrind cannot read the debug information of a release Swift binary; the symbol table suffices.
strip --strip-debug -o "$work/InstructionCounts" .build/release/InstructionCounts
# The interposed pthread pair: a C program under the release preload library (LockValidatorPthreads).
swift build -c release --package-path .. --product LockValidatorPreload >&2
strip --strip-debug -o "$work/libLockValidatorPreload.so" ../.build/release/libLockValidatorPreload.so
cc -O2 Peers/pthread_pairs.c -o "$work/pthread_pairs" -lpthread
cc -O2 Peers/blocking_calls.c -o "$work/blocking_calls"
swift build -c debug --product InstructionCounts >&2
strip --strip-debug -o "$work/InstructionCounts-debug" .build/debug/InstructionCounts
swift build -c debug --package-path .. --product LockValidatorPreload >&2
strip --strip-debug -o "$work/libLockValidatorPreload-debug.so" ../.build/debug/libLockValidatorPreload.so

count() {  # row (scenario, with -debug for the debug build), operations: prints instructions and stores per operation
    local row=$1 operations=$2 scenario=${1%-debug} suffix=""
    [ "$row" != "$scenario" ] && suffix=-debug
    if [ "$scenario" = pthread-pair ]; then
        LD_PRELOAD="$work/libLockValidatorPreload$suffix.so" LOCKVALIDATOR_HOLD_BUDGET_US=1000000 valgrind \
            --tool=callgrind --cache-sim=yes --callgrind-out-file="$work/$row.out" --collect-atstart=no \
            --toggle-collect='measured_pthread_pairs' "$work/pthread_pairs" "$operations" 2>/dev/null
    elif [ "$scenario" = write ] || [ "$scenario" = usleep ]; then
        LD_PRELOAD="$work/libLockValidatorPreload.so" valgrind --tool=callgrind --cache-sim=yes \
            --callgrind-out-file="$work/$scenario.out" --collect-atstart=no \
            --toggle-collect='measured_blocking_calls' "$work/blocking_calls" "$scenario" "$operations" 2>/dev/null
    elif [ "$scenario" = raw-write ] || [ "$scenario" = raw-usleep ]; then
        valgrind --tool=callgrind --cache-sim=yes --callgrind-out-file="$work/$scenario.out" --collect-atstart=no \
            --toggle-collect='measured_blocking_calls' "$work/blocking_calls" "${scenario#raw-}" "$operations" \
            2>/dev/null
    else
        LOCKVALIDATOR_HOLD_BUDGET_US=1000000 valgrind --tool=callgrind --cache-sim=yes \
            --callgrind-out-file="$work/$row.out" --collect-atstart=no --toggle-collect='*measured*' \
            "$work/InstructionCounts$suffix" "$scenario" "$operations" 2>/dev/null
    fi
    callgrind_annotate --inclusive=yes --show=Ir,Dw "$work/$row.out" | python3 -c '
import re, sys
operations = int(sys.argv[1])
total, snapshot = (0, 0), (0, 0)
for line in sys.stdin:
    match = re.match(r"\s*([\d,]+) (?:\([^)]*\) )?\s*([\d,]+) ", line)
    if not match:
        continue
    value = tuple(int(group.replace(",", "")) for group in match.groups())
    if "PROGRAM TOTALS" in line:
        total = value
    elif "refreshSnapshot" in line:
        snapshot = max(snapshot, value)  # the outermost frame of the snapshot path
print(*(round((t - s) / operations) for t, s in zip(total, snapshot)))' "$operations"
}

results="$work/results.txt"
# The debug rows run fewer operations: an unoptimised operation costs up to twenty times as many
# instructions. The new-edge scenarios have none: building their 10,000-class graph unoptimised under
# callgrind takes over 15 minutes on a loaded 2-core VM (measured once: sparse 54,852 instructions, 13,163
# stores per new edge).
for scenario in raw-pair:20000 pair:20000 chain-2:10000 chain-3:10000 new-edge-sparse:300 new-edge-dense:300 \
    pthread-pair:20000 raw-write:20000 write:20000 raw-usleep:2000 usleep:2000 raw-pair-debug:5000 \
    pair-debug:5000 chain-2-debug:2000 chain-3-debug:2000 pthread-pair-debug:5000; do
    echo "$scenario" | { IFS=: read -r name operations; echo "$name $(count "$name" "$operations")"; } >>"$results"
done

if [ "${1:-}" = "--update" ]; then
    cp "$results" instructions-baseline.txt
fi
python3 - "$results" instructions-baseline.txt <<'PY'
import sys
def read(path):  # name -> (instructions, stores)
    return {name: tuple(map(int, values)) for name, *values in (line.split() for line in open(path))}
now, base = read(sys.argv[1]), read(sys.argv[2])
failures = []
print("| scenario | instructions per operation | baseline | change | stores per operation | baseline |")
print("|---|---:|---:|---:|---:|---:|")
for name, (value, stores) in now.items():
    before, stores_before = base.get(name, (value, stores))
    change = (value - before) / before * 100 if before else 0.0
    print(f"| {name} | {value:,} | {before:,} | {change:+.1f} % | {stores:,} | {stores_before:,} |")
    if value > before * 1.03:
        failures.append(f"{name}: {value:,} instructions, over 3 % above the baseline's {before:,}")
    # A store is about a cycle on a core that commits one a cycle, and an atomic acquire waits for them all.
    if stores > stores_before * 1.03 + 1:
        failures.append(f"{name}: {stores:,} stores, over 3 % above the baseline's {stores_before:,}")
for failure in failures:
    print(f"REGRESSION: {failure}")
sys.exit(1 if failures else 0)
PY
