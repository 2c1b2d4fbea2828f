#!/bin/bash
# build.sh [BUILDDIR] [configure options...] - autoreconf, configure with -Werror, make
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-$SRC/build}; shift || true
cd "$SRC" && autoreconf -fi >/dev/null 2>&1
mkdir -p "$B" && cd "$B"
testdata="$SRC/../shared/testdata"
"$SRC/configure" --enable-werror --with-testdata="$testdata" "$@" >configure.out 2>&1 ||
    { tail -20 configure.out; exit 1; }
make -j"$(nproc)" >make.out 2>&1 || { grep -E "error|warning" make.out | head -40; tail -20 make.out; exit 1; }
echo "build.sh: built in $B"
