#!/bin/sh
# Compares a built library with the committed ABI baseline.
#   check_abidiff.sh BASELINE LIB HEADERS_DIR [--expect-incompatible]
# With --expect-incompatible it succeeds only if abidiff ran and found an
# incompatible change (to prove the gate catches a deliberate break).
# abidiff's exit status is a bit mask: 1 tool error, 2 usage error, 4 ABI
# changed, 8 incompatible change.  Fail on 1, 2 and 8; report 4 (compatible
# change such as an appended struct field: refresh the baseline).
set -u
baseline=$1
lib=$2
headers=$3
expect=${4:-}
out=$(abidiff --no-added-syms --headers-dir1 "$headers" --headers-dir2 "$headers" "$baseline" "$lib" 2>&1)
rc=$?
echo "$out" | head -n 60
if [ $((rc & 3)) -ne 0 ]; then echo "abidiff failed to run (exit $rc)"; exit 1; fi
if [ "$expect" = "--expect-incompatible" ]; then
  if [ $((rc & 8)) -ne 0 ]; then echo "incompatible change detected, as expected (exit $rc)"; exit 0; fi
  echo "the deliberate break was NOT detected (exit $rc)"; exit 1
fi
if [ $((rc & 8)) -ne 0 ]; then echo "INCOMPATIBLE ABI CHANGE against $baseline (exit $rc)"; exit 1; fi
if [ $((rc & 4)) -ne 0 ]; then echo "note: compatible ABI change; refresh the baseline with tools/update-abi.sh"; fi
echo "abi ok (abidiff exit $rc)"
exit 0
