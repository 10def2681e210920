#!/bin/sh
# Opt-in ThreadSanitizer run (not part of CI): builds build/tsan with
# -DAPOLLO_SANITIZE=thread (oneDNN off: its OpenMP runtime is not
# TSan-instrumented) and runs the threading tests -- 8 sessions in 8 threads
# (api.test_concurrency), cancellation from another thread
# (api.test_cancel), the ctx shared by threads (api.test_threads) and the
# thread pool (unit.test_threadpool).  Suppressions: tests/tsan.supp.
#
#   tools/tsan.sh            (build dir: $APOLLO_TSAN_BUILD, default build/tsan)
set -eu
cd "$(dirname "$0")/.."
build=${APOLLO_TSAN_BUILD:-build/tsan}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAPOLLO_SANITIZE=thread \
      -DAPOLLO_WITH_ONEDNN=OFF >"$build.configure.log" 2>&1 || { cat "$build.configure.log"; exit 1; }
ninja -C "$build" api_test_concurrency api_test_cancel api_test_threads unit_test_threadpool
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(pwd)/tests/tsan.supp ${TSAN_OPTIONS:-}" \
  ctest --test-dir "$build" --output-on-failure \
        -R '^(api\.test_concurrency|api\.test_cancel|api\.test_threads|unit\.test_threadpool)$'
