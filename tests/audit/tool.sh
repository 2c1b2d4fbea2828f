#!/bin/sh
# tool.sh - shell-level tests of ses-milter-audit (verify and report) on the fixture log
#
# Proves: an intact log and a rotated, gzip-compressed pair verify (exit 0);
# a tampered log gives the exact first bad line (exit 1); files in the wrong
# order fail; report output equals the golden files, also over .gz input;
# bad usage exits 2.
set -u

SRC=${SM_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${SM_BUILDDIR:-.}
TOOL="$BUILD/ses-milter-audit"
FIX="$SRC/tests/audit/fixture.jsonl"
TMP=$(mktemp -d /tmp/sm-audit-tool-XXXXXX)
trap 'rm -rf "$TMP"' EXIT INT TERM
fails=0
n=0

# check NAME WANT_RC WANT_OUT_FILE|- CMD... : run CMD, compare exit code (and stdout)
check() {
    name=$1 want_rc=$2 want_out=$3
    shift 3
    n=$((n + 1))
    "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    if [ "$rc" -ne "$want_rc" ]; then
        echo "not ok $n - $name: exit $rc, want $want_rc"; cat "$TMP/out" "$TMP/err"
        fails=$((fails + 1)); return
    fi
    if [ "$want_out" != - ] && ! cmp -s "$want_out" "$TMP/out"; then
        echo "not ok $n - $name: output differs"; diff "$want_out" "$TMP/out" | head -20
        fails=$((fails + 1)); return
    fi
    echo "ok $n - $name"
}

# expect TEXT: the last run's stdout is exactly TEXT
expect() {
    printf '%s\n' "$1" >"$TMP/want"
    check "$2" "$3" "$TMP/want" "$TOOL" verify "$4"
}

[ -x "$TOOL" ] || { echo "no $TOOL"; exit 99; }

check "verify intact fixture" 0 - "$TOOL" verify "$FIX"
grep -q '^OK: 24 records in 1 file, chain starts at genesis, head [0-9a-f]\{64\}$' "$TMP/out" \
    || { echo "not ok - summary: $(cat "$TMP/out")"; fails=$((fails + 1)); }
check "verify --schema intact fixture" 0 - "$TOOL" verify --schema --quiet "$FIX"

cd "$TMP" || exit 99
head -n 12 "$FIX" | gzip -c >audit.jsonl.1.gz
tail -n 12 "$FIX" >audit.jsonl
check "verify rotated .gz then current" 0 - "$TOOL" verify audit.jsonl.1.gz audit.jsonl
check "verify wrong order fails" 1 - "$TOOL" verify audit.jsonl audit.jsonl.1.gz

sed '5d' "$FIX" >deleted.jsonl
expect "deleted.jsonl:5: chain broken: prev does not match line 4" "deleted line" 1 deleted.jsonl
awk 'NR == 7 { held = $0; next } NR == 8 { print; print held; next } { print }' "$FIX" >swapped.jsonl
expect "swapped.jsonl:7: chain broken: prev does not match line 6" "swapped lines" 1 swapped.jsonl
sed '10s/"qid":"4/"qid":"9/' "$FIX" >edited.jsonl
expect "edited.jsonl:11: chain broken: prev does not match line 10" "edited line" 1 edited.jsonl
head -c 20000 "$FIX" >cut.jsonl
lines=$(($(wc -l <cut.jsonl) + 1))
expect "cut.jsonl:$lines: truncated line (no newline at the end)" "truncated file" 1 cut.jsonl

for g in txt csv json; do
    case $g in txt) f=text ;; *) f=$g ;; esac
    check "report --format $f equals golden" 0 "$SRC/tests/audit/report.$g" \
        "$TOOL" report --format "$f" "$FIX"
done
check "report over .gz + plain equals golden" 0 "$SRC/tests/audit/report.txt" \
    "$TOOL" report audit.jsonl.1.gz audit.jsonl
check "report window equals golden" 0 "$SRC/tests/audit/report-window.txt" \
    "$TOOL" report --from 2026-11-24T12:00Z --to "2026-11-24 18:00" "$FIX"

check "no arguments" 2 - "$TOOL"
check "unknown command" 2 - "$TOOL" frobnicate
check "bad format" 2 - "$TOOL" report --format xml "$FIX"
check "bad time" 2 - "$TOOL" report --from yesterday "$FIX"
check "missing file" 2 - "$TOOL" verify "$TMP/nope.jsonl"
check "missing key file" 2 - "$TOOL" verify --key "$TMP/nope.key" "$FIX"
check "version" 0 - "$TOOL" --version

echo "1..$n"
[ "$fails" -eq 0 ]
