#!/usr/bin/env bash
# A Synchronization.Mutex pair, plain and validated through the Mutex overlay, in the same run
# (alternating, five of each): Measurements/MutexPairs built with `swiftc -O -I <overlay>`, run without
# and with LD_PRELOAD=libLockValidatorPreload.so (release). Prints each run and the medians.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
swift build -c release --product LockValidatorPreload >&2
swift run lockval overlay -o "$work/overlay" >&2
swiftc -O -I "$work/overlay" Benchmarks/Measurements/MutexPairs/main.swift -o "$work/mutex-pairs"
preload=$(swift build -c release --show-bin-path)/libLockValidatorPreload.so
plain=() validated=()
for _ in 1 2 3 4 5; do
    plain+=("$("$work/mutex-pairs")")
    validated+=("$(LD_PRELOAD=$preload "$work/mutex-pairs")")
done
echo "plain Mutex pair (ns):     ${plain[*]}"
echo "validated Mutex pair (ns): ${validated[*]}"
python3 -c "
import statistics, sys
p = [float(x) for x in sys.argv[1].split()]; v = [float(x) for x in sys.argv[2].split()]
print(f'medians: plain {statistics.median(p):.1f} ns, validated {statistics.median(v):.1f} ns, +{statistics.median(v) - statistics.median(p):.1f} ns')
" "${plain[*]}" "${validated[*]}"
