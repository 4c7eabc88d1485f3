#!/usr/bin/env bash
# The verdict corpus (issue 33, part 3): builds every program of Tests/VerdictCorpus, runs each alone (it
# must finish, or deadlock if it is meant to), under LockValidator (LD_PRELOAD of the debug
# libLockValidatorPreload.so), ThreadSanitizer's deadlock detector and Helgrind, and prints one table: per
# program its ground truth and each tool's outcome, then per tool the precision and recall of "this
# program can deadlock" (any cycle report is a positive) and, for LockValidator, of its verdicts
# (can-deadlock or confirmed; a report without a verdict counts as can-deadlock, what the engine says
# today). The scoring is scripts/verdict-corpus.py (`--self-test` checks how it reads verdicts).
# The `confirm` tool is LockValidator's confirmation mode in DeadlockFuzzer's two phases: a run with a fresh
# learned-order store (LOCKVALIDATOR_GRAPH) predicts, a second run with LOCKVALIDATOR_CONFIRM=on steers the
# schedule so that a predicted cycle forms; its column says confirmed (with the time of the second run) or
# predicted, and a program that cannot deadlock must never be confirmed.
#
#   bash scripts/verdict-corpus.sh [--write FILE] [--only REGEX] [--tools lv,confirm,tsan,helgrind] [--skip-hangs]
#
#   --write FILE   also write the table, as Markdown, to FILE (e.g. Tests/VerdictCorpus/results.md)
#   --only REGEX   only the programs whose name (c/abba-2t, swift/cycle-3t) matches
#   --tools LIST   which tools to run (default: all three)
#   --skip-hangs   do not run the programs that deadlock for real under TSan and Helgrind, where they hang
#                  until the timeout (LockValidator's watchdog ends them); they show as "skipped"
#
# Every run has a timeout; a run that reaches it is "hung". The *-realdeadlock programs deadlock every
# time: under TSan and Helgrind they get a short timeout (the deadlock forms within milliseconds).
# Runs go to .build/verdict-corpus/. Takes a few minutes; run it with `nice` on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."

write="" only="." tools="lv,confirm,tsan,helgrind" skip_hangs=0
while (($#)); do
    case "$1" in
    --write) write="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --tools) tools="$2"; shift 2 ;;
    --skip-hangs) skip_hangs=1; shift ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "verdict-corpus.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

corpus=Tests/VerdictCorpus
work=.build/verdict-corpus
bin=$work/bin
runs=$work/runs
rm -rf "$runs"
mkdir -p "$bin" "$runs"
started=$(date +%s)

# A learned-order store or a report path from the caller's environment would mix the programs' graphs.
while read -r variable; do unset "$variable"; done < <(compgen -e | grep '^LOCKVALIDATOR' || true)

has_tool() { [[ ",$tools," == *",$1,"* ]]; }

# MARK: Build

toolchain_lib=$(dirname "$(command -v swift)")/../lib/swift/linux
if has_tool lv || has_tool confirm; then
    echo "== swift build --product LockValidatorPreload" >&2
    swift build --product LockValidatorPreload >&2
fi
preload=$PWD/.build/debug/libLockValidatorPreload.so

echo "== building the corpus" >&2
cflags=(-O1 -g -pthread -Wall -Wextra -Werror)
for source in "$corpus"/c/*.c; do
    name=$(basename "$source" .c)
    gcc "${cflags[@]}" -o "$bin/$name" "$source"
    if has_tool tsan; then
        # This toolchain's TSan runtime refers to libdispatch and the blocks runtime, which ship beside it.
        clang "${cflags[@]}" -fsanitize=thread -o "$bin/$name-tsan" "$source" \
            -L"$toolchain_lib" -Wl,-rpath,"$toolchain_lib" -ldispatch -lBlocksRuntime
    fi
done
swiftc -swift-version 5 -g -Onone "$corpus/swift/main.swift" -o "$bin/verdict-corpus-swift"
if has_tool tsan; then
    swiftc -swift-version 5 -g -Onone -sanitize=thread "$corpus/swift/main.swift" -o "$bin/verdict-corpus-swift-tsan"
fi
if has_tool helgrind && ! command -v valgrind >/dev/null; then
    echo "valgrind is not installed: Helgrind is left out" >&2
    tools=${tools//helgrind/}
fi

# MARK: Run

# run TOOL ID SECONDS COMMAND...: runs the command under a timeout, keeping its exit status, output and time.
run() {
    local tool=$1 id=$2 limit=$3
    shift 3
    local out=$runs/$tool/$id start end status=0
    mkdir -p "$runs/$tool"
    start=$(date +%s.%N)
    timeout -k 5 "$limit" "$@" >"$out.out" 2>"$out.err" </dev/null || status=$?
    end=$(date +%s.%N)
    echo "$status" >"$out.rc"
    echo "$end - $start" | bc >"$out.secs"
    printf '  %-9s %-44s exit %3s  %6.1f s\n' "$tool" "$id" "$status" "$(cat "$out.secs")" >&2
}

skip() { mkdir -p "$runs/$1" && echo "$3" >"$runs/$1/$2.skipped"; }

tsan_options=detect_deadlocks=1:second_deadlock_stack=1:ignore_interceptors_accesses=0:ignore_noninstrumented_modules=0:exitcode=66

echo "== running" >&2
while IFS=$'\t' read -r program prone verdict meets reason; do
    [[ "$program" == \#* || "$program" == program ]] && continue
    [[ "$program" =~ $only ]] || continue
    id=${program//\//__}
    name=${program#*/}
    if [[ "$program" == c/* ]]; then
        plain=("$bin/$name") tsan=("$bin/$name-tsan")
    else
        plain=("$bin/verdict-corpus-swift" "$name") tsan=("$bin/verdict-corpus-swift-tsan" "$name")
    fi
    # The program alone: it must finish, unless it is one that deadlocks for real.
    run plain "$id" "$([[ $meets == yes ]] && echo 5 || echo 60)" "${plain[@]}"
    if has_tool lv; then
        # The deadlock watchdog ends a real deadlock about 1.3 s after it forms.
        run lv "$id" 60 env LOCKVALIDATOR_REPORT="$runs/lv/$id.json" LD_PRELOAD="$preload" "${plain[@]}"
    fi
    if has_tool confirm; then
        # Phase 1 predicts (its cycles go to a store of its own), phase 2 confirms against that store.
        store=$runs/store/$id
        mkdir -p "$store"
        run learn "$id" 60 env LOCKVALIDATOR_GRAPH="$store" LOCKVALIDATOR_REPORT="$runs/learn/$id.json" \
            LD_PRELOAD="$preload" "${plain[@]}"
        run confirm "$id" 60 env LOCKVALIDATOR_GRAPH="$store" LOCKVALIDATOR_CONFIRM=on \
            LOCKVALIDATOR_REPORT="$runs/confirm/$id.json" LD_PRELOAD="$preload" "${plain[@]}"
    fi
    if has_tool tsan; then
        if [[ $meets == yes && $skip_hangs == 1 ]]; then
            skip tsan "$id" "deadlocks for real: hangs"
        else
            run tsan "$id" "$([[ $meets == yes ]] && echo 10 || echo 120)" env TSAN_OPTIONS=$tsan_options "${tsan[@]}"
        fi
    fi
    if has_tool helgrind; then
        if [[ $meets == yes && $skip_hangs == 1 ]]; then
            skip helgrind "$id" "deadlocks for real: hangs"
        else
            run helgrind "$id" "$([[ $meets == yes ]] && echo 20 || echo 900)" \
                valgrind --tool=helgrind --log-file="$runs/helgrind/$id.log" "${plain[@]}"
        fi
    fi
done <"$corpus/ground-truth.tsv"

# MARK: Score

versions=(
    "LockValidator $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources || echo ' (modified)')"
    "$(gcc --version | head -1)"
    "$(clang --version | head -1)"
    "$(swiftc --version 2>&1 | grep -m1 -o 'Swift version [^ ]*')"
    "$(valgrind --version 2>/dev/null || echo 'no valgrind')"
    "$(nproc) CPUs"
)
score=(python3 scripts/verdict-corpus.py --truth "$corpus/ground-truth.tsv" --runs "$runs" --tools "$tools"
    --seconds "$(($(date +%s) - started))")
for version in "${versions[@]}"; do score+=(--version "$version"); done
if [[ -n "$write" ]]; then score+=(--write "$write"); fi
"${score[@]}"
