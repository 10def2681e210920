#!/bin/sh
# Regenerates the ABI baseline (abi/libapollo.abi) from a build, and adds
# any newly exported symbol to the ledger (abi/symbols.txt) with the current
# version.  Run it in the same change that adds API (abidiff exit 4 means a
# compatible change: refresh the baseline then).
#   sh tools/update-abi.sh build/release
set -eu
build=$1
top=$(cd "$(dirname "$0")/.." && pwd)
lib="$build/libapollo.so"
version=$(sed -n 's/^#define APOLLO_VERSION_STRING "\([0-9]*\.[0-9]*\).*"/\1/p' "$top/include/apollo.h")
abidw --headers-dir "$top/include" --no-corpus-path --out-file "$top/abi/libapollo.abi" "$lib"
touch "$top/abi/symbols.txt"
for s in $(nm -D --defined-only "$lib" | awk '$2 == "T" {print $3}' | sed 's/@.*//' | sort -u); do
  grep -q "^$s " "$top/abi/symbols.txt" || echo "$s $version" >> "$top/abi/symbols.txt"
done
echo "baseline and ledger updated for version $version"
