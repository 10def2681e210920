#!/bin/sh
# Shows that the layout asserts catch an incompatible header change: the
# layout test must compile with the real header and must NOT compile with a
# copy where one params field was retyped.
#   check_layout_break.sh CC HEADER LAYOUT_TEST_SOURCE TMPDIR
set -eu
cc=$1; header=$2; src=$3; tmp=$4
mkdir -p "$tmp/good" "$tmp/bad"
cp "$header" "$tmp/good/apollo.h"
sed 's/int32_t n_threads;/int64_t n_threads;/' "$header" > "$tmp/bad/apollo.h"
cmp -s "$tmp/good/apollo.h" "$tmp/bad/apollo.h" && { echo "the edit did not apply"; exit 1; }
"$cc" -std=c11 -fsyntax-only -I "$tmp/good" "$src" || { echo "layout test fails on the real header"; exit 1; }
if "$cc" -std=c11 -fsyntax-only -I "$tmp/bad" "$src" 2> "$tmp/bad.log"; then
  echo "a retyped field was NOT caught"; exit 1
fi
grep -m 3 "static assertion\|_Static_assert" "$tmp/bad.log" || true
echo "retyped field caught by the layout asserts"
