#!/bin/sh
# Installs everything libapollo needs to build and test on Debian 12, from
# Debian's own packages (the bindings' toolchains included: Python, Rust
# 1.63, Go 1.19).  Safe to run repeatedly.
set -eu
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
PKGS="build-essential cmake ninja-build pkg-config python3
      libopenblas-dev libdnnl-dev
      libavcodec-dev libavformat-dev libavutil-dev libswscale-dev
      zlib1g-dev libjansson-dev libutf8proc-dev libpcre2-dev
      abigail-tools binutils
      python3-venv python3-pip python3-setuptools python3-wheel python3-pytest
      cargo rustc golang-go"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing"
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
