#!/bin/sh
# The main job: install, build, and summarise the bundled tiny checkpoint.
set -eu
cd "$(dirname "$0")/.."
sh tools/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build/release -j "$(nproc)"
./build/release/examples/apollo-cli info tests/fixtures/models/tiny-tied
