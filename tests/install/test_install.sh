#!/bin/sh
# Installs the build into a scratch prefix and builds two consumers against
# the installed package only: one through pkg-config, one through the CMake
# package config.  Both open the tiny model and print its LLM width.
set -eu
build=$1
work=$2
model=$3
cc=$4
prefix=$work/prefix
rm -rf "$work"
mkdir -p "$work"
cmake --install "$build" --prefix "$prefix" > "$work/install.log"
test -f "$prefix/include/apollo.h"
libdir=$(ls -d "$prefix"/lib*/ | head -n 1)
libdir=${libdir%/}
test -L "$libdir/libapollo.so.0"
test -f "$libdir/pkgconfig/apollo.pc"
test -f "$libdir/cmake/apollo/apolloConfig.cmake"

cat > "$work/consumer.c" <<'C'
#include <apollo.h>
#include <stdio.h>
int main(int argc, char **argv) {
    apollo_ctx *ctx = NULL;
    apollo_model_info mi;
    if (argc < 2 || apollo_version_number() != APOLLO_VERSION_NUMBER) return 2;
    if (apollo_ctx_open(argv[1], NULL, &ctx) != APOLLO_OK) {
        fprintf(stderr, "%s\n", apollo_last_errmsg());
        return 1;
    }
    apollo_model_info_init(&mi);
    apollo_ctx_get_model_info(ctx, &mi);
    printf("consumer: llm hidden %d, %d towers\n", mi.llm_hidden_size, mi.n_vision_towers);
    apollo_ctx_free(ctx);
    return 0;
}
C

# 1. pkg-config
export PKG_CONFIG_PATH="$libdir/pkgconfig"
pkg-config --exists apollo
# shellcheck disable=SC2046
"$cc" -std=c11 -Wall -Wextra -Werror -o "$work/consumer-pc" "$work/consumer.c" \
    $(pkg-config --cflags --libs apollo)
LD_LIBRARY_PATH="$libdir" "$work/consumer-pc" "$model"

# 2. CMake package
mkdir -p "$work/cmake-consumer"
cp "$work/consumer.c" "$work/cmake-consumer/"
cat > "$work/cmake-consumer/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.20)
project(consumer C)
find_package(apollo 0.1 REQUIRED)
add_executable(consumer consumer.c)
target_link_libraries(consumer PRIVATE apollo::apollo)
CM
cmake -S "$work/cmake-consumer" -B "$work/cmake-consumer/build" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_COMPILER="$cc" > "$work/cmake-consumer.log"
cmake --build "$work/cmake-consumer/build" >> "$work/cmake-consumer.log"
LD_LIBRARY_PATH="$libdir" "$work/cmake-consumer/build/consumer" "$model"
echo "install consumers ok"
