#!/usr/bin/env bash
# Write tests/fixtures/MANIFEST.sha256 (sha256sum format, paths relative to tests/fixtures).
# Covers every regular file under tests/fixtures except the manifest itself. Symbolic links
# (the llm/ tokenizer files of the tiny checkpoints) are not listed: their targets under
# tokenizer/qwen2.5/ are. Verify with: cd tests/fixtures && sha256sum -c MANIFEST.sha256
set -euo pipefail
FIX="$(cd "$(dirname "$0")/../../tests/fixtures" && pwd)"
cd "$FIX"
TMP="$(mktemp)"
find . -type f ! -path ./MANIFEST.sha256 -print | sed 's|^\./||' | LC_ALL=C sort \
  | while IFS= read -r f; do sha256sum -- "$f"; done > "$TMP"
cat "$TMP" > MANIFEST.sha256
rm -f "$TMP"
echo "MANIFEST.sha256: $(wc -l < MANIFEST.sha256) files, $(du -sb . | cut -f1) bytes under tests/fixtures"
