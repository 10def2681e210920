#!/usr/bin/env bash
# Runs the Python, Rust and Go bindings' test suites (each includes the api
# golden scenario) and the C, Python, Rust and Go examples against an
# already-built library.
#
#   tools/test-bindings.sh BUILD_DIR
#
# The build is installed into a scratch prefix (cmake --install) so that
# pkg-config finds apollo.pc (Rust's build.rs, Go's cgo) and every language
# loads the same libapollo.so (LD_LIBRARY_PATH; APOLLO_LIBRARY for Python).
# Environment:
#   APOLLO_BINDINGS_PREFIX  scratch install prefix (default BUILD_DIR/bindings-install)
#   APOLLO_BINDINGS_SKIP    languages to skip, e.g. "go rust" (default none)
#   PYTHON                  interpreter (default python3)
# Exits non-zero when any step fails.
set -u

if [ $# -lt 1 ] || [ ! -d "$1" ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$1" && pwd)
PREFIX=${APOLLO_BINDINGS_PREFIX:-$BUILD/bindings-install}
SKIP=" ${APOLLO_BINDINGS_SKIP:-} "
PYTHON=${PYTHON:-python3}
MODEL=$ROOT/tests/fixtures/models/tiny-tied
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/apollo-bindings.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT

failed=()
passed=()
step() { # step NAME COMMAND...: runs a step, records the outcome
    local name=$1
    shift
    echo
    echo "=== $name"
    if "$@"; then
        passed+=("$name")
    else
        echo "*** FAILED: $name" >&2
        failed+=("$name")
    fi
}
skipped() { case "$SKIP" in *" $1 "*) echo "=== $1: skipped (APOLLO_BINDINGS_SKIP)"; return 0 ;; esac; return 1; }

# -- install into the scratch prefix ----------------------------------------
rm -rf "$PREFIX"
if ! cmake --install "$BUILD" --prefix "$PREFIX" >"$SCRATCH/install.log" 2>&1; then
    cat "$SCRATCH/install.log" >&2
    echo "cannot install $BUILD into $PREFIX" >&2
    exit 1
fi
PC=$(find "$PREFIX" -name apollo.pc | head -n 1)
LIBDIR=$(dirname "$(find "$PREFIX" -name 'libapollo.so*' | head -n 1)")
if [ -z "$PC" ] || [ ! -d "$LIBDIR" ]; then
    echo "no apollo.pc / libapollo.so under $PREFIX" >&2
    exit 1
fi
export PKG_CONFIG_PATH="$(dirname "$PC")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export LD_LIBRARY_PATH="$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export APOLLO_LIBRARY="$LIBDIR"
export APOLLO_FIXTURES="$ROOT/tests/fixtures"
echo "libapollo $(pkg-config --modversion apollo) installed in $PREFIX"

# run_example NAME CMD...: the program answers with the tiny model (exit 0,
# some output), and fails cleanly (exit 1, the library's message) for a
# missing model directory.  CMD gets the model dir (and a question) appended.
run_example() {
    local name=$1
    shift
    local out="$SCRATCH/$name.out" err="$SCRATCH/$name.err"
    if ! "$@" "$MODEL" "Hello!" >"$out" 2>"$err"; then
        cat "$out" "$err" >&2
        return 1
    fi
    if [ ! -s "$out" ]; then
        echo "$name printed no answer" >&2
        cat "$err" >&2
        return 1
    fi
    echo "answer: $(head -c 200 "$out")"
    if ! "$@" "$MODEL" "What happens?" "$ROOT/tests/fixtures/videos/cfr_161x97_2997.mp4" \
        >"$out" 2>"$err" || [ ! -s "$out" ]; then
        echo "$name failed on a video" >&2
        cat "$out" "$err" >&2
        return 1
    fi
    "$@" "$SCRATCH/no-such-model" >"$out" 2>"$err"
    local rc=$?
    if [ $rc -ne 1 ] || ! grep -q "not found" "$err"; then
        echo "$name: a missing model should fail with exit 1 and the library's message (rc=$rc)" >&2
        cat "$err" >&2
        return 1
    fi
}

# -- C ------------------------------------------------------------------------
c_example() {
    local exe="$SCRATCH/apollo-example-c"
    # built the way the example's header says: pkg-config against the install
    # shellcheck disable=SC2046
    cc -std=c11 -Wall -Wextra -Werror -o "$exe" "$ROOT/examples/c/ask.c" \
        $(pkg-config --cflags --libs apollo) || return 1
    run_example c "$exe" || return 1
    if [ -x "$BUILD/examples/c/apollo-example-c" ]; then
        run_example c-cmake "$BUILD/examples/c/apollo-example-c" || return 1
    fi
}
skipped c || step "c example" c_example

# -- Python ---------------------------------------------------------------------
py_suite() {
    local venv="$SCRATCH/venv"
    "$PYTHON" -m venv --system-site-packages "$venv" || return 1
    if "$venv/bin/python" -c 'import setuptools, wheel' 2>/dev/null; then
        # pip-installable from the repository, offline (setuptools and wheel
        # from the system: python3-setuptools, python3-wheel)
        # (from a copy: setuptools builds in-tree and would leave build/ behind)
        cp -r "$ROOT/bindings/python" "$SCRATCH/python-src" || return 1
        rm -rf "$SCRATCH/python-src/build" "$SCRATCH/python-src"/src/*.egg-info
        "$venv/bin/python" -m pip install --quiet --no-deps --no-build-isolation --no-index \
            "$SCRATCH/python-src" || return 1
        "$venv/bin/python" -c 'import apollo; assert "site-packages" in apollo.__file__' || return 1
    else
        echo "NOTE: $PYTHON has no setuptools+wheel to build offline; testing the source tree"
        export PYTHONPATH="$ROOT/bindings/python/src${PYTHONPATH:+:$PYTHONPATH}"
    fi
    (cd "$ROOT/bindings/python" && "$venv/bin/python" -m pytest -q -p no:cacheprovider tests) ||
        return 1
    run_example python "$venv/bin/python" "$ROOT/examples/python/ask.py"
}
skipped python || step "python bindings + example" py_suite

# -- Rust -----------------------------------------------------------------------
rust_suite() {
    local target="$ROOT/bindings/rust/target"
    (cd "$ROOT/bindings/rust" && cargo test --offline --locked) || return 1
    (cd "$ROOT/examples/rust" && CARGO_TARGET_DIR="$target" cargo build --offline --locked -q) || return 1
    run_example rust "$target/debug/apollo-example"
}
skipped rust || step "rust bindings + example" rust_suite

# -- Go ---------------------------------------------------------------------------
go_suite() {
    export GOTOOLCHAIN=local GOFLAGS=${GOFLAGS:-} GOPROXY=off
    (cd "$ROOT/bindings/go" && go vet ./... && go test -count=1 ./...) || return 1
    (cd "$ROOT/examples/go" && go build -o "$SCRATCH/apollo-example-go" .) || return 1
    run_example go "$SCRATCH/apollo-example-go"
}
skipped go || step "go bindings + example" go_suite

echo
echo "passed: ${passed[*]:-none}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "all binding suites and examples passed"
