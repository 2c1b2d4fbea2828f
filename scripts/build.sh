#!/bin/bash
# build.sh [BUILDDIR] [configure options...] - autoreconf, configure with -Werror, make
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-$SRC/build}; shift || true
cd "$SRC" && autoreconf -fi >/dev/null 2>&1
mkdir -p "$B" && cd "$B"
# the external suites: SM_TESTDATA, else ../shared/testdata beside this tree, else beside
# the repository this tree was cloned from (git clone . /tmp/fresh keeps them reachable)
testdata=${SM_TESTDATA:-$SRC/../shared/testdata}
if [ ! -d "$testdata" ]; then
    origin=$(git -C "$SRC" config --get remote.origin.url 2>/dev/null || true)
    if [ -n "$origin" ] && [ -d "$origin/../shared/testdata" ]; then
        testdata=$(cd "$origin/../shared/testdata" && pwd)
    else
        echo "build.sh: warning: no external test suites at $testdata (set SM_TESTDATA): their tests SKIP (and fail under SM_REQUIRE_TESTDATA=1, as in scripts/test.sh)" >&2
    fi
fi
"$SRC/configure" --enable-werror --with-testdata="$testdata" "$@" >configure.out 2>&1 ||
    { tail -20 configure.out; exit 1; }
make -j"$(nproc)" >make.out 2>&1 || { grep -E "error|warning" make.out | head -40; tail -20 make.out; exit 1; }
echo "build.sh: built in $B"
