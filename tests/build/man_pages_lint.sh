#!/bin/bash
# man_pages_lint.sh - every manual page renders without a warning
#
# For each page make builds (SM_MANS, man/*.in with the directories substituted):
#   - no @placeholder@ is left;
#   - groff -mandoc -ww -z prints nothing and succeeds (bar the "break" class: a line
#     that cannot be broken or adjusted, which the length of the configured paths
#     decides, e.g. distcheck's long prefix);
#   - mandoc -Tlint -Wwarning prints nothing (when mandoc is installed: scripts/deps.sh
#     installs it; without it this one check is left out and said so);
#   - man -l renders it: status 0, nothing on stderr (bar the "break" class), its NAME.
#
# usage: man_pages_lint.sh   (from make check: SM_BUILDDIR, SM_MANS)
set -u
BUILD=${SM_BUILDDIR:-.}
fails=0
n=0

ok() { # ok RC NAME - one TAP line
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi
}

[ -n "${SM_MANS:-}" ] || { echo "man_pages_lint.sh: SM_MANS is empty" >&2; exit 99; }
command -v groff >/dev/null && command -v man >/dev/null ||
    { echo "SKIP: no groff or man (groff-base, man-db: scripts/deps.sh)"; exit 77; }
have_mandoc=1
command -v mandoc >/dev/null || { have_mandoc=0; echo "# mandoc not installed: its lint is left out"; }

for m in $SM_MANS; do
    p=$BUILD/$m
    [ -f "$p" ] || { ok 1 "$m is built"; continue; }
    left=$(grep -o '@[a-zA-Z_]*@' "$p" | sort -u | tr '\n' ' ')
    ok $([ -z "$left" ]; echo $?) "$m: every placeholder substituted${left:+ (left: $left)}"
    out=$(groff -mandoc -ww -Wbreak -z "$p" 2>&1)
    rc=$?
    [ -n "$out" ] && echo "$out" | sed 's/^/# /'
    ok $([ $rc -eq 0 ] && [ -z "$out" ]; echo $?) "$m: groff -mandoc -ww gives no warning"
    if [ $have_mandoc = 1 ]; then
        out=$(mandoc -Tlint -Wwarning "$p" 2>&1)
        [ -n "$out" ] && echo "$out" | sed 's/^/# /'
        ok $([ -z "$out" ]; echo $?) "$m: mandoc -Tlint gives no warning"
    fi
    out=$(MANWIDTH=80 man -l "$p" 2>"$p.err")
    rc=$?
    sed -i "/warning .*: can't break line\$/d; /warning .*: cannot adjust line\$/d" "$p.err"
    [ -s "$p.err" ] && sed 's/^/# /' "$p.err"
    name=$(basename "$m" | sed 's/\.[0-9]$//')
    ok $([ $rc -eq 0 ] && [ ! -s "$p.err" ] && echo "$out" | grep -q "^NAME" &&
        echo "$out" | grep -q "^ *$name "; echo $?) "$m: man -l renders it with no warning"
    rm -f "$p.err"
done

echo "1..$n"
[ "$fails" -eq 0 ]
