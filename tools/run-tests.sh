#!/bin/sh
# The whole test suite, as CI runs it: installs the dependencies, then builds
# and tests twice -- an optimised build with every backend (warnings are
# errors) followed by the Python, Rust and Go bindings' suites, and an
# ASan+UBSan build with oneDNN left out (which also proves the library builds
# and passes without it).
set -eu
cd "$(dirname "$0")/.."
sh tools/install-deps.sh
jobs=$(nproc)

cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAPOLLO_WERROR=ON
cmake --build build/release -j "$jobs"
ctest --test-dir build/release --output-on-failure -j "$jobs"
# Python, Rust and Go bindings and the four languages' examples, against the
# same library.
bash tools/test-bindings.sh build/release

cmake -S . -B build/sanitize -G Ninja -DCMAKE_BUILD_TYPE=Debug -DAPOLLO_WERROR=ON \
      -DAPOLLO_SANITIZE=address,undefined -DAPOLLO_WITH_ONEDNN=OFF
cmake --build build/sanitize -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/sanitize --output-on-failure -j "$jobs"
