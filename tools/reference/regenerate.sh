#!/usr/bin/env bash
# Regenerate every reference fixture of issue 3 (items 1, 2, 4) and the manifest.
#
#   tools/reference/regenerate.sh            # venv in $VENV (default /tmp/apollo-ref-venv)
#   REGEN_VIDEOS=1 tools/reference/regenerate.sh   # also re-encode the input videos
#
# The venv lives OUTSIDE the repository and is built from requirements.txt when missing.
# Runs on CPU; takes a few minutes on 2 cores.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${VENV:-/tmp/apollo-ref-venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -r "$HERE/requirements.txt"
fi
PY="$VENV/bin/python"

if [ "${REGEN_VIDEOS:-0}" = 1 ] || [ ! -f "$ROOT/tests/fixtures/videos/cfr_161x97_2997.mp4" ] \
   || [ ! -f "$ROOT/tests/fixtures/videos/vfr_400x226.mp4" ]; then
  "$HERE/make_videos.sh" "$ROOT/tests/fixtures/videos"
fi
test -f "$ROOT/tests/fixtures/tokenizer/qwen2.5/tokenizer.json" || {
  echo "missing tests/fixtures/tokenizer/qwen2.5 (see tools/reference/tokenizer/)" >&2; exit 1; }

cd "$HERE"
"$PY" make_checkpoints.py
"$PY" reference.py
"$PY" sampling_reference.py
mkdir -p "$ROOT/tests/fixtures/reference/resize"
"$PY" resize_reference.py "$ROOT/tests/fixtures/reference/resize/large_frames.json"
"$HERE/make_manifest.sh"
