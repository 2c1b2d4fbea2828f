#!/bin/bash
# fuzz-long.sh - run every libFuzzer target (or the named ones) for SECONDS each
#
# usage: scripts/fuzz-long.sh SECONDS [TARGET...]      (TARGET: fuzz_addr or addr)
#
# The fuzz build is SM_FUZZ_BUILD when set (a tree configured with
# --enable-fuzzing CC=clang; it is brought up to date with make), else it is
# built in /tmp/ses-milter-fuzz-build.  Each target gets its seeds (its
# committed corpus tests/fuzz/corpus-NAME/ plus seeds generated from the
# repository's configurations, fixtures and the external test data) and its
# dictionary tests/fuzz/NAME.dict, and keeps what it finds in a corpus that
# persists between runs (leaks inside system libraries listed in
# tests/fuzz/lsan.supp are not reported): SM_FUZZ_OUT (default BUILD/tests/fuzz/out) holds
# corpus-NAME/, seeds-NAME/, NAME.log and the inputs that failed.  Targets run one
# after the other (SM_FUZZ_JOBS is not used: CPU is shared).
#
# Output: one line per target
#   TARGET SECONDS EXECUTIONS EXEC/S CRASHES
# (executions: libFuzzer's stat::number_of_executed_units; crashes 0 or 1:
# a crash, leak, timeout, sanitizer report or broken invariant stops the
# target and leaves its input in NAME-crash-*, NAME-leak-*, NAME-timeout-*).  Exit status 1 when any
# target failed, 2 on a usage or build error.
set -uo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)

usage() {
    echo "usage: $0 SECONDS [TARGET...]" >&2
    exit 2
}
[ $# -ge 1 ] || usage
secs=$1
shift
case $secs in '' | *[!0-9]*) usage ;; esac

B=${SM_FUZZ_BUILD:-/tmp/ses-milter-fuzz-build}
if [ -f "$B/Makefile" ]; then
    make -C "$B" -j2 >"$B/fuzz-make.out" 2>&1 || {
        tail -20 "$B/fuzz-make.out" >&2
        exit 2
    }
else
    bash "$SRC/scripts/build.sh" "$B" --enable-fuzzing CC=clang >/dev/null || exit 2
fi
grep -q -e '--enable-fuzzing' "$B/config.status" 2>/dev/null || {
    echo "$B was not configured with --enable-fuzzing CC=clang" >&2
    exit 2
}
OUT=${SM_FUZZ_OUT:-$B/tests/fuzz/out}
TESTDATA=${SM_TESTDATA:-$(sed -n 's/^SM_TESTDATA = //p' "$B/Makefile")}
mkdir -p "$OUT"

# seed_file DIR NAME - write standard input to DIR/NAME
seed_file() { cat >"$1/$2"; }

# seeds_generated NAME DIR - seeds made from repository files for target NAME
seeds_generated() {
    local name=$1 dir=$2 f i=0
    case $name in
    addr)
        SM_TESTDATA=$TESTDATA SM_FUZZ_SEEDS_ONLY=1 sh "$SRC/tests/fuzz/run-fuzz.sh" 0 "$B" \
            2>/dev/null && cp "$B"/tests/fuzz/addr-seeds/* "$dir"/ 2>/dev/null
        ;;
    config)
        # the sample and the miltertest configurations, their paths mapped to the sandbox
        for f in "$SRC"/conf/*.conf "$SRC"/tests/milter/cases/*.conf; do
            sed -e 's#@WORK@#/fuzz#g' -e 's#@SRCDIR@#/fuzz/src#g' -e 's#@[A-Z_]*PORT@#8443#g' \
                -e 's#"[^"]*unsub[^"]*\.key"#"/fuzz/unsub.key"#' "$f" |
                seed_file "$dir" "$(basename "$f")"
        done
        ;;
    spf_syntax)
        # every SPF record of the openspf RFC 4408/7208 suites, one a file
        cat "$TESTDATA"/spf/openspf/*.yml 2>/dev/null | grep -o 'v=spf1[^"]*' | sort -u |
            while IFS= read -r rec; do
                i=$((i + 1))
                printf '%s' "$rec" | seed_file "$dir" "openspf-$i"
            done
        ;;
    unsub_tmpl)
        # templates of the unit tests and configurations: kind byte, template, six values
        grep -ho '"\(https\?://\|mailto:\)[^"]*"' "$SRC"/tests/unit/unsub/test_unsub*.c \
            "$SRC"/tests/milter/cases/*.conf "$SRC"/conf/*.conf 2>/dev/null | tr -d '"' | sort -u |
            while IFS= read -r t; do
                i=$((i + 1))
                case $t in mailto:*) k='\002' ;; http:*) k='\001' ;; *) k='\000' ;; esac
                printf "$k%s\\0rcpt+x@example.org\\0news@example.com\\0example.com\\0list.example.com\\0<id.1@example.com>\\0t0k3n" "$t" |
                    seed_file "$dir" "tmpl-$i"
            done
        ;;
    audit_chain)
        cp "$SRC"/tests/audit/fixture.jsonl "$dir"/fixture.jsonl
        head -2 "$SRC"/tests/audit/fixture.jsonl >"$dir"/fixture-2.jsonl
        gzip -9nc "$SRC"/tests/audit/fixture.jsonl >"$dir"/fixture.jsonl.gz
        ;;
    ses_json)
        command -v python3 >/dev/null &&
            python3 "$SRC/tests/fuzz/ses-seeds.py" "$dir" "$SRC"/tests/milter/cases/*.ses.json
        ;;
    bodyhash)
        find "$TESTDATA/mail" -type f -name '*.eml' 2>/dev/null | sort | head -50 |
            while IFS= read -r f; do
                i=$((i + 1))
                sed '1,/^\r\{0,1\}$/d' "$f" | head -c 8192 | seed_file "$dir" "body-$i"
            done
        ;;
    esac
    return 0
}

# run_target BIN - fuzz one target for secs seconds, print its line; 0 when it held
run_target() {
    local bin=$1 t n seeds corpus log dict=() opts rc execs rate crashed
    t=$(basename "$bin")
    n=${t#fuzz_}
    seeds=$OUT/seeds-$n
    corpus=$OUT/corpus-$n
    log=$OUT/$n.log
    rm -rf "$seeds"
    mkdir -p "$seeds" "$corpus"
    [ -d "$SRC/tests/fuzz/corpus-$n" ] && cp "$SRC/tests/fuzz/corpus-$n"/* "$seeds"/ 2>/dev/null
    seeds_generated "$n" "$seeds"
    [ -f "$SRC/tests/fuzz/$n.dict" ] && dict=(-dict="$SRC/tests/fuzz/$n.dict")
    # fuzz_config: libconfig 1.5 leaks a string on most syntax errors, and each such
    # input makes LeakSanitizer scan the heap (30 times slower); leaks are checked
    # after the run instead, on every input of the corpus
    opts=()
    [ "$n" = config ] && opts=(-detect_leaks=0)
    rm -f "$OUT/$n"-crash-* "$OUT/$n"-leak-* "$OUT/$n"-timeout-* "$OUT/$n"-oom-*
    LSAN_OPTIONS=suppressions=$SRC/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS} \
        timeout -k 10 $((secs + 300)) "$bin" "${dict[@]}" ${opts[@]+"${opts[@]}"} -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="$OUT/$n-" "$corpus" "$seeds" >"$log" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ] && [ "${opts[*]}" = -detect_leaks=0 ]; then
        # fuzzed without leak checks: now every input it kept, with them
        LSAN_OPTIONS=suppressions=$SRC/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS} \
            timeout -k 10 $((secs + 300)) "$bin" -runs=0 -detect_leaks=1 -timeout=10 \
            -rss_limit_mb=2048 -max_len=65536 -artifact_prefix="$OUT/$n-" "$corpus" \
            >"$log.leaks" 2>&1
        rc=$?
    fi
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
    execs=${execs:-0}
    rate=$((secs > 0 ? execs / secs : 0))
    crashed=0
    if [ "$rc" -ne 0 ] || ls "$OUT/$n"-{crash,leak,timeout,oom}-* >/dev/null 2>&1; then
        crashed=1
    fi
    printf '%-18s %6s %12s %9s %d\n' "$t" "$secs" "$execs" "$rate" "$crashed"
    if [ "$crashed" -ne 0 ]; then
        echo "  $t: exit $rc, log $log; inputs: $(ls "$OUT/$n"-{crash,leak,timeout,oom}-* 2>/dev/null | tr '\n' ' ')" >&2
        grep -m1 -E 'ERROR: |runtime error|SUMMARY' "$log" | sed 's/^/  /' >&2
        return 1
    fi
    return 0
}

targets=()
if [ $# -eq 0 ]; then
    for t in "$B"/tests/fuzz/fuzz_*; do
        [ -f "$t" ] && [ -x "$t" ] && targets+=("$t")
    done
else
    for a in "$@"; do
        a=fuzz_${a#fuzz_}
        [ -x "$B/tests/fuzz/$a" ] || {
            echo "no target $a in $B/tests/fuzz" >&2
            exit 2
        }
        targets+=("$B/tests/fuzz/$a")
    done
fi
[ ${#targets[@]} -gt 0 ] || {
    echo "no fuzz targets in $B/tests/fuzz" >&2
    exit 2
}

printf '%-18s %6s %12s %9s %s\n' target seconds executions exec/s crashes
failed=0
for t in "${targets[@]}"; do
    run_target "$t" || failed=$((failed + 1))
done
[ "$failed" -eq 0 ]
