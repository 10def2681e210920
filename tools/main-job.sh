#!/bin/sh
# The main job: install, build, and ask the bundled tiny checkpoint about the
# bundled sample video (a random tiny model: the answer is gibberish, but it
# is the same gibberish PyTorch produces).
set -eu
cd "$(dirname "$0")/.."
sh tools/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build/release -j "$(nproc)"
./build/release/examples/apollo-cli info tests/fixtures/models/tiny-tied
./build/release/examples/apollo-cli -m tests/fixtures/models/tiny-tied \
    -v tests/fixtures/videos/cfr_161x97_2997.mp4 --temperature 0 --max-tokens 32 \
    "What happens in this video?"
