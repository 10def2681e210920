#!/bin/sh
# Every dynamic symbol the library defines is a public apollo_* function
# declared in apollo.h and listed in the symbol ledger; every declared
# function is exported; no internal apollo__* helper leaks out.
#   check_exports.sh LIB HEADER LEDGER
set -eu
lib=$1
header=$2
ledger=$3
syms=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sed 's/@.*//' | sort -u)
status=0
[ -n "$syms" ] || { echo "no exported symbols found in $lib"; exit 1; }
for s in $syms; do
  case "$s" in
    apollo__*) echo "internal symbol exported: $s"; status=1 ;;
    apollo_*)
      grep -Eq "\\b$s\\(" "$header" || { echo "exported but not declared in apollo.h: $s"; status=1; }
      grep -q "^$s " "$ledger" || { echo "exported but not in the ledger $ledger: $s (run tools/update-abi.sh)"; status=1; } ;;
    *) echo "non-apollo symbol exported: $s"; status=1 ;;
  esac
done
for d in $(grep -Eo 'APOLLO_API [^(]*\bapollo_[a-z0-9_]+\(' "$header" | grep -Eo 'apollo_[a-z0-9_]+\($' | tr -d '('); do
  echo "$syms" | grep -qx "$d" || { echo "declared but not exported: $d"; status=1; }
done
# Ledger entries: "name version [deprecated-version]"; all still exported
# (symbols are only removed with a soname bump).
while read -r name added rest; do
  case "$name" in ''|'#'*) continue ;; esac
  echo "$added" | grep -Eq '^[0-9]+\.[0-9]+$' || { echo "ledger: bad version for $name"; status=1; }
  echo "$syms" | grep -qx "$name" || { echo "in the ledger but not exported: $name"; status=1; }
done < "$ledger"
[ $status -eq 0 ] && echo "exports ok: $(echo "$syms" | wc -l) symbols, ledger and header agree"
exit $status
