#!/bin/sh
# The usage example at the top of apollo.h compiles and runs: extract the
# @code block, build it against the built library, ask the tiny model about
# the sample video.
#   header_example.sh CC INCLUDE_DIR LIB_DIR MODEL VIDEO WORKDIR
set -eu
cc=$1; inc=$2; libdir=$3; model=$4; video=$5; work=$6
mkdir -p "$work"
sed -n '/@code/,/@endcode/p' "$inc/apollo.h" | sed '1d;$d' | sed 's/^ \* \{0,3\}//; s/^ \*$//' \
    > "$work/header_example.c"
"$cc" -std=c11 -Wall -Wextra -Werror -I "$inc" -o "$work/header_example" "$work/header_example.c" \
    -L "$libdir" -lapollo -Wl,-rpath,"$libdir"
out=$("$work/header_example" "$model" "$video" "What happens in this video?")
echo "$out"
test -n "$out"
