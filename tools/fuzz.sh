#!/bin/sh
# Runs the libFuzzer targets of tests/fuzz/ for a given time each (opt-in;
# not part of CI).  Usage:
#
#   tools/fuzz.sh [SECONDS] [TARGET...]     (default: 180 s, every target)
#
# Builds build/fuzz with clang (-fsanitize=fuzzer,address,undefined; the
# library itself with fuzzer-no-link for coverage), then runs each target
# on a scratch copy of its committed seed corpus (build/fuzz/corpus/<t>;
# new inputs stay there, the committed corpus is not touched).  Crashes,
# leaks, timeouts and OOMs are written to build/fuzz/artifacts/<t>/; turn
# each into a regression: copy it to tests/fuzz/regressions/<t>/ (ctest
# replays that folder), fix the library, and (if small) add it to the seed
# corpus.  Prints executions/s and coverage (libFuzzer's cov:/ft:) per
# target; the full logs are build/fuzz/logs/<t>.log.
#
# Environment: CC (default clang-14), APOLLO_FUZZ_BUILD (default build/fuzz),
# APOLLO_FUZZ_JOBS (targets run at once; default 1), extra libFuzzer flags
# in APOLLO_FUZZ_FLAGS.
set -eu
cd "$(dirname "$0")/.."
secs=${1:-180}
[ $# -gt 0 ] && shift
targets=${*:-"safetensors checkpoint tokenizer video_memory embed_store params"}
build=${APOLLO_FUZZ_BUILD:-build/fuzz}
cc=${CC:-clang-14}
cxx=${CXX:-clang++-14}
jobs=${APOLLO_FUZZ_JOBS:-1}

CC=$cc CXX=$cxx cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DAPOLLO_FUZZ=ON -DAPOLLO_SANITIZE=fuzzer-no-link,address,undefined \
    -DAPOLLO_WITH_ONEDNN=OFF >"$build.configure.log" 2>&1 ||
    { cat "$build.configure.log"; exit 1; }
ninja -C "$build" $(for t in $targets; do printf 'fuzz_%s ' "$t"; done) >"$build.build.log" 2>&1 ||
    { tail -50 "$build.build.log"; exit 1; }

mkdir -p "$build/logs"
run_one() {
    t=$1
    max_len=4096
    case $t in
    video_memory) max_len=262144 ;;
    checkpoint|safetensors|embed_store) max_len=65536 ;;
    esac
    mkdir -p "$build/corpus/$t" "$build/artifacts/$t"
    # leaks are checked at the end of each input; FFmpeg and OpenBLAS keep
    # process-wide state, so only the library's own leaks matter here
    OPENBLAS_NUM_THREADS=1 ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
    "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -print_final_stats=1 \
        -timeout=30 -rss_limit_mb=4096 -max_len=$max_len \
        -artifact_prefix="$build/artifacts/$t/" ${APOLLO_FUZZ_FLAGS:-} \
        "$build/corpus/$t" "tests/fuzz/corpus/$t" >"$build/logs/$t.log" 2>&1
    rc=$?
    execs=$(grep -a 'stat::number_of_executed_units' "$build/logs/$t.log" | awk '{print $2}')
    eps=$(grep -a 'stat::average_exec_per_sec' "$build/logs/$t.log" | awk '{print $2}')
    cov=$(grep -a -E '^#[0-9]+' "$build/logs/$t.log" | grep -a -o 'cov: [0-9]* ft: [0-9]*' | tail -1)
    n_art=$(ls "$build/artifacts/$t" | wc -l)
    printf '%-13s rc=%s execs=%s exec/s=%s %s artifacts=%s\n' "$t" "$rc" "${execs:-?}" \
        "${eps:-?}" "${cov:-cov: ?}" "$n_art"
    return 0
}

n=0
for t in $targets; do
    run_one "$t" &
    n=$((n + 1))
    if [ "$n" -ge "$jobs" ]; then
        wait
        n=0
    fi
done
wait
