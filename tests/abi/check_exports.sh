#!/bin/sh
# Every dynamic symbol the library defines is a public apollo_* function
# declared in apollo.h; no internal apollo__* helper leaks out.
set -eu
lib=$1
header=$2
syms=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sed 's/@.*//' | sort -u)
status=0
[ -n "$syms" ] || { echo "no exported symbols found in $lib"; exit 1; }
for s in $syms; do
  case "$s" in
    apollo__*) echo "internal symbol exported: $s"; status=1 ;;
    apollo_*)
      grep -Eq "\\b$s\\(" "$header" || { echo "exported but not declared in apollo.h: $s"; status=1; } ;;
    *) echo "non-apollo symbol exported: $s"; status=1 ;;
  esac
done
# ... and everything apollo.h declares is exported.
for d in $(grep -Eo 'APOLLO_API [^(]*\bapollo_[a-z0-9_]+\(' "$header" | grep -Eo 'apollo_[a-z0-9_]+\($' | tr -d '('); do
  echo "$syms" | grep -qx "$d" || { echo "declared but not exported: $d"; status=1; }
done
[ $status -eq 0 ] && echo "exports ok: $(echo "$syms" | wc -l) symbols"
exit $status
