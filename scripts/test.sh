#!/bin/bash
# test.sh - install, build and run every test of ses-milter
#
#   1. install the Debian packages (scripts/deps.sh)
#   2. build with -Wall -Wextra -Werror and run "make check": unit tests
#      (cmocka), external suites, miltertest scenarios and end-to-end tests
#      with a real Postfix in a private namespace
#   3. make distcheck in that build: the tarball is complete and passes make check
#      out of tree (counted as one test)
#   4. build again with AddressSanitizer + UBSan and run "make check" there
#   5. build with ThreadSanitizer (clang) and run "make check-tsan": the
#      multi-threaded tests (mk/tsan.am), a report fails its test
#   6. run the libFuzzer targets for a bounded time (SM_FUZZ_SECONDS, default 60)
# and print one closing line "N passed, N failed".
set -uo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=${SM_TEST_OUT:-/tmp/ses-milter-test}
rm -rf "$OUT"; mkdir -p "$OUT"
pass=0; fail=0; skip=0
# a run of every test: a missing external suite fails it (tests skip it elsewhere)
export SM_REQUIRE_TESTDATA=1

bash "$SRC/scripts/deps.sh" all || exit 1

# count - add one automake test-suite.log's results to the totals
count() {
    local log=$1 p f e s
    p=$(sed -n 's/^# PASS: *//p' "$log"); f=$(sed -n 's/^# FAIL: *//p' "$log")
    e=$(sed -n 's/^# ERROR: *//p' "$log"); s=$(sed -n 's/^# SKIP: *//p' "$log")
    xp=$(sed -n 's/^# XPASS: *//p' "$log")
    pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0} + ${e:-0} + ${xp:-0})); skip=$((skip + ${s:-0}))
}

run_suite() { # [SUITE_TARGET=check-...] run_suite NAME BUILDDIR [configure options]
    local name=$1 b=$2 target=${SUITE_TARGET:-check} t0=$SECONDS; shift 2
    echo "=== $name: build"
    if ! bash "$SRC/scripts/build.sh" "$b" "$@"; then
        echo "=== $name: BUILD FAILED"; fail=$((fail + 1)); return
    fi
    echo "=== $name: make $target"
    (cd "$b" && make -j2 "$target" > "$OUT/$name-check.out" 2>&1)
    if [ -f "$b/test-suite.log" ]; then
        grep -E '^(PASS|FAIL|ERROR|SKIP|XFAIL|XPASS):' "$OUT/$name-check.out" | sed "s/^/  $name: /"
        cp "$b/test-suite.log" "$OUT/$name-test-suite.log"
        count "$b/test-suite.log"
        grep -A40 -E '^(FAIL|ERROR): ' "$b/test-suite.log" | head -200
    else
        tail -30 "$OUT/$name-check.out"; fail=$((fail + 1))
    fi
    echo "=== $name: $((SECONDS - t0)) s (build and $target)"
}

run_suite default "$OUT/build"
# distcheck (one pass or failure): the tarball holds every file, builds out of tree with
# a read-only source, passes make check (SM_DISTCHECK_TESTS: a reduced list), installs
# and uninstalls cleanly.  In a private mount namespace with a tmpfs over Postfix's queue
# directory: its install makes the sample's socket directory there.
echo "=== distcheck"
dc_tests=(); [ -n "${SM_DISTCHECK_TESTS:-}" ] && dc_tests=(TESTS="$SM_DISTCHECK_TESTS")
if [ -f "$OUT/build/Makefile" ] &&
    (cd "$OUT/build" && unshare --mount -- bash -c '
        [ -d /var/spool/postfix ] && mount -t tmpfs tmpfs /var/spool/postfix
        exec make -j2 distcheck "$@"' distcheck "${dc_tests[@]}" > "$OUT/distcheck.out" 2>&1); then
    echo "PASS: distcheck"; pass=$((pass + 1))
else
    echo "FAIL: distcheck"; grep -E '^(FAIL|ERROR):' "$OUT/distcheck.out"; tail -30 "$OUT/distcheck.out"
    fail=$((fail + 1))
fi
run_suite sanitizers "$OUT/build-asan" --enable-sanitizers
# ThreadSanitizer over the multi-threaded tests only (TSAN_OPTIONS and the
# suppressions of third-party code: mk/tsan.am, tests/tsan.supp)
SUITE_TARGET=check-tsan run_suite tsan "$OUT/build-tsan" --enable-tsan CC=clang

# fuzzing: bounded runs of every libFuzzer target (tests/fuzz/fuzz_*), each with its
# seeds and dictionary, through the same runner as long campaigns (scripts/fuzz-long.sh)
secs=${SM_FUZZ_SECONDS:-60}
echo "=== fuzz: build (clang, -fsanitize=fuzzer), ${secs}s per target"
if bash "$SRC/scripts/build.sh" "$OUT/build-fuzz" --enable-fuzzing CC=clang >/dev/null; then
    SM_FUZZ_BUILD="$OUT/build-fuzz" SM_FUZZ_OUT="$OUT/fuzz" bash "$SRC/scripts/fuzz-long.sh" "$secs" \
        > "$OUT/fuzz.out" 2> "$OUT/fuzz.err"
    while read -r t s execs rate crashed; do
        case $crashed in
        0) echo "PASS: fuzz $t, ${s}s ($execs executions, $rate/s)"; pass=$((pass + 1)) ;;
        1) echo "FAIL: fuzz $t (log: $OUT/fuzz/${t#fuzz_}.log)"; fail=$((fail + 1)) ;;
        esac
    done < <(tail -n +2 "$OUT/fuzz.out")
    cat "$OUT/fuzz.err"
    [ -s "$OUT/fuzz.out" ] || { echo "FAIL: fuzz runner"; fail=$((fail + 1)); }
else
    echo "FAIL: fuzz build"; tail -20 "$OUT/build-fuzz/make.out" 2>/dev/null; fail=$((fail + 1))
fi

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
