#!/usr/bin/env bash
# Runs each libFuzzer target of a build for SECONDS, one after the other, on
# a copy of its seed corpus (the repository is not modified), and prints how
# many inputs each executed.  Exits non-zero if any target crashed, leaked,
# hung (10 s for one input), ran out of memory (2 GiB) or found a mismatch;
# the inputs that did are kept in BUILD_DIR/fuzz-findings/TARGET/.
#
#   test/fuzz/run_fuzzers.sh BUILD_DIR SECONDS
#
# BUILD_DIR is configured with -Dfuzzing=true (see test/fuzz/README.md).
set -uo pipefail

if [ $# -ne 2 ] || ! [[ $2 =~ ^[0-9]+$ ]] || [ "$2" -eq 0 ]; then
    echo "usage: $0 BUILD_DIR SECONDS" >&2
    exit 2
fi
build=$(cd "$1" && pwd) || exit 2
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)

declare -A max_len=([fuzz_table_file]=65540 [fuzz_operations]=4096)
targets=(fuzz_table_file fuzz_operations)
for target in "${targets[@]}"; do
    if [ ! -x "$build/test/fuzz/$target" ]; then
        echo "$build/test/fuzz/$target is missing: configure the build with -Dfuzzing=true and build it" >&2
        exit 2
    fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/netshm-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Sanitizer reports end the run, so that libFuzzer saves the input.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

status=0
for target in "${targets[@]}"; do
    dir=$work/$target
    mkdir -p "$dir/corpus" "$dir/artifacts"
    cp "$here/corpus/$target"/* "$dir/corpus/"
    # Saved findings are inputs too (read only: libFuzzer writes new inputs
    # to the first directory only).
    inputs=("$dir/corpus")
    if [ -d "$here/regressions/$target" ]; then
        inputs+=("$here/regressions/$target")
    fi
    options=()
    if [ -f "$here/$target.dict" ]; then
        options+=(-dict="$here/$target.dict")
    fi
    # -len_control=0: inputs up to max_len at once, not after hours of
    # slowly raised limits (a few thousand runs a minute here).
    "$build/test/fuzz/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -detect_leaks=1 \
        -max_len="${max_len[$target]}" -len_control=0 -print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
        "${options[@]}" "${inputs[@]}" >"$dir/log" 2>&1 &
    pid=$!
    wait "$pid"
    rc=$?
    # A process that crashed did not remove its scratch file.
    rm -f "/dev/shm/netshm-$target-$pid"
    executions=$(awk '/stat::number_of_executed_units:/ { print $2 }' "$dir/log" | tail -n 1)
    if [ -z "$executions" ]; then
        executions=$(sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$dir/log" | tail -n 1)
    fi
    echo "$target: ${executions:-0} executions in $seconds s, exit status $rc"
    if [ "$rc" -ne 0 ] || [ -n "$(ls -A "$dir/artifacts")" ]; then
        status=1
        echo "---- $target failed; the end of its log:"
        tail -n 60 "$dir/log"
        mkdir -p "$build/fuzz-findings/$target"
        cp "$dir/artifacts/"* "$build/fuzz-findings/$target/" 2>/dev/null
        echo "---- the inputs are in $build/fuzz-findings/$target/"
    fi
done
exit $status
