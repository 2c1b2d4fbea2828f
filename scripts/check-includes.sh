#!/bin/bash
# check-includes.sh [SRCDIR] - no include crosses a folder boundary its README forbids
#
# Each src/FOLDER/README.md ends with a line "May include: A, B, C." naming the
# folders whose headers FOLDER's files may include ("nothing" for none).  A
# file's includes of another folder's headers are written "FOLDER/name.h".
# Every such include outside the allowed list fails, unless its edge
# "FROM TO" is listed in scripts/include-exceptions.txt (each line with the
# reason it still exists; the list is meant to shrink to empty).  An exception
# that no longer occurs fails too, so the list never keeps dead lines.
# Plugins (plugins/NAME/) may include only the ABI header and their own files.
# Prints one line per violation and exits 1 when there is any.
set -uo pipefail
SRC=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$SRC" || exit 2
exc=scripts/include-exceptions.txt
bad=0
declare -A allowed used
for readme in src/*/README.md; do
    d=${readme#src/}; d=${d%/README.md}
    line=$(grep -m1 '^May include:' "$readme") || { echo "$readme: no \"May include:\" line"; bad=1; continue; }
    list=${line#May include:}; list=${list%%(*}; list=${list%.}
    allowed[$d]=" $(echo "$list" | tr ',.' '  ' | sed 's/\bnothing\b//') "
done
for dir in src/*/; do
    d=${dir#src/}; d=${d%/}
    [ -n "${allowed[$d]+x}" ] || { echo "src/$d/: no README.md with a \"May include:\" line"; bad=1; }
done
for f in src/*/*.[ch]; do
    d=${f#src/}; d=${d%%/*}
    while IFS=: read -r n inc; do
        t=${inc#*\"}; t=${t%%/*}
        [ "$t" = "$d" ] && continue
        [ -d "src/$t" ] || continue
        case "${allowed[$d]:-}" in *" $t "*) continue ;; esac
        if grep -qE "^$d $t( |$)" "$exc" 2>/dev/null; then used["$d $t"]=1; continue; fi
        may=$(echo ${allowed[$d]:-}); echo "$f:$n: includes $t/ (src/$d/README.md may include: ${may:-nothing})"; bad=1
    done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[a-z_]*/' "$f")
done
if [ -f "$exc" ]; then
    while read -r from to _; do
        case "$from" in ''|'#'*) continue ;; esac
        [ -n "${used["$from $to"]+x}" ] || { echo "$exc: \"$from $to\" no longer occurs: delete the line"; bad=1; }
    done < "$exc"
fi
for f in plugins/*/*.[ch]; do
    pd=$(dirname "$f")
    while IFS=: read -r n inc; do
        h=${inc#*\"}; h=${h%\"*}
        [ "$h" = "config.h" ] || [ "$h" = "ses-milter/plugin.h" ] || [ -f "$pd/$h" ] && continue
        echo "$f:$n: a plugin includes \"$h\": only the ABI header and its own files"; bad=1
    done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f")
done
[ $bad = 0 ] && echo "check-includes: every include follows its folder's README"
exit $bad
