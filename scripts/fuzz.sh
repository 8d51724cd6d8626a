#!/usr/bin/env bash
# Builds agentd's libFuzzer targets and runs one or all of them for a bounded time.
#   bash scripts/fuzz.sh [TARGET|all] [--seconds N] [--scratch-path DIR] [--no-build] [-- LIBFUZZER_FLAGS…]
# TARGET: exposition, config, gossip, wal, events, snappy (default: all, one after the other).
# --seconds N: how long each target runs (default 60).
# --scratch-path DIR: SwiftPM's build folder (default .build-fuzz; CI passes .build to reuse
#   the dependencies the tests' build compiled: only agentd's own decoding libraries are
#   compiled again, instrumented).
# The corpus a run grows is kept in .fuzz/corpus/TARGET (the committed seeds, Fuzz/Corpus/TARGET,
# are only read); a crash, hang or out-of-memory input lands in .fuzz/crashes/TARGET/ and makes
# the script exit 1. Replay one with: SWIFT_BACKTRACE=enable=no .build-fuzz/debug/fuzz-TARGET FILE
# (docs/fuzzing.md).
set -euo pipefail
cd "$(dirname "$0")/.."

all_targets=(exposition config gossip wal events snappy)
targets=()
seconds=60
scratch=.build-fuzz
build=1
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --seconds=*) seconds="${1#*=}"; shift ;;
        --scratch-path) scratch="$2"; shift 2 ;;
        --scratch-path=*) scratch="${1#*=}"; shift ;;
        --no-build) build=0; shift ;;
        --) shift; extra=("$@"); break ;;
        all) targets=("${all_targets[@]}"); shift ;;
        exposition|config|gossip|wal|events|snappy) targets+=("$1"); shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "fuzz.sh: unknown argument $1 (targets: ${all_targets[*]})" >&2; exit 2 ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

if [ "$build" = 1 ]; then
    for target in "${targets[@]}"; do
        started=$(date +%s)
        # The linker (ld.gold) warns "Cannot export local symbol" for every ASan helper: harmless.
        if ! AGENTD_FUZZ=1 swift build --scratch-path "$scratch" --product "fuzz-$target" \
            > ".fuzz-build.log" 2>&1; then
            grep -v "Cannot export local symbol" .fuzz-build.log >&2
            rm -f .fuzz-build.log
            exit 1
        fi
        rm -f .fuzz-build.log
        echo "built fuzz-$target in $(($(date +%s) - started)) s"
    done
fi

bin="$scratch/debug"
# Swift's own crash backtracer would take the signal before libFuzzer saves the input (and
# trips AddressSanitizer); the leak suppressions are for the toolchain's regex compiler.
export SWIFT_BACKTRACE=enable=no
export LSAN_OPTIONS="suppressions=$PWD/Fuzz/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
failed=0
for target in "${targets[@]}"; do
    corpus=".fuzz/corpus/$target"
    crashes=".fuzz/crashes/$target"
    mkdir -p "$corpus" "$crashes"
    dict=()
    [ -f "Fuzz/Dictionaries/$target.dict" ] && dict=("-dict=Fuzz/Dictionaries/$target.dict")
    log=".fuzz/$target.log"
    # What libFuzzer saves: crash-, leak-, timeout- and oom- inputs stop it and fail the run;
    # slow-unit- inputs (over 10 s) are only reported.
    found() { find "$crashes" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort; }
    found > ".fuzz/$target.before"
    echo "fuzz-$target: running for $seconds s (corpus $corpus, seeds Fuzz/Corpus/$target)"
    status=0
    # -timeout: an input that takes longer is a hang; -rss_limit_mb also bounds one malloc.
    # The WAL and event decoders size their per-series state by the largest series ref a
    # record names, up to 2^26 (EventDecoder.refLimit): by design about 2 GB per decoder (the
    # targets run two) and seconds of zeroing for one such input (docs/fuzzing.md).
    rss=2048
    timeout=10
    case "$target" in wal|events) rss=8192 timeout=60 ;; esac
    # The WAL target's files, removed below even when the target died (it removes them itself
    # only when it exits normally).
    scratch_files=$(mktemp -d /dev/shm/agentd-fuzz.XXXXXX 2> /dev/null || mktemp -d)
    TIMEFORMAT='%U %S'
    { time TMPDIR="$scratch_files" "$bin/fuzz-$target" "$corpus" "Fuzz/Corpus/$target" "${dict[@]}" \
        -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb="$rss" -print_final_stats=1 \
        -artifact_prefix="$crashes/" "${extra[@]}" > "$log" 2>&1 || status=$?; } 2> ".fuzz/$target.cpu"
    rm -rf "$scratch_files"
    cpu=$(awk '{ printf "%.0f", $1 + $2 }' ".fuzz/$target.cpu")
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\) .*/\1/p' <<< "$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\) .*/\1/p' <<< "$last")
    files=$(find "$corpus" -type f | wc -l)
    echo "fuzz-$target: ${executions:-?} executions (${rate:-?}/s, $cpu CPU-seconds), coverage ${cov:-?} edges, ${ft:-?} features, corpus $files files ($(du -sh "$corpus" | cut -f1))"
    new=$(found | comm -13 ".fuzz/$target.before" -)
    rm -f ".fuzz/$target.before"
    if [ "$status" != 0 ] || [ -n "$new" ]; then
        failed=1
        echo "fuzz-$target: FAILED (exit $status); the end of $log:" >&2
        grep -v "Cannot export local symbol" "$log" | tail -40 >&2
        sed 's/^/  input: /' <<< "$new" >&2
        echo "  replay: SWIFT_BACKTRACE=enable=no $bin/fuzz-$target INPUT" >&2
    fi
done
exit "$failed"
