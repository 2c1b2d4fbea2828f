#!/bin/sh
# exported_symbols.sh - the programs export only what ELF interposition needs, the
# plugins only their descriptor
#
# Proves, read with nm -D from the build tree:
#   - ses-milter exports exactly the functions listed on the global: line of its
#     linker version script src/milter/ses-milter.map (the file the link uses, so
#     this test and the link cannot drift): the libc/OpenSSL functions it replaces
#     on purpose, each of which must be exported (else the replacement would
#     silently not take effect), and no function of its own core (a plugin sees
#     the host only through the ABI header's callbacks).  The map names today:
#       sigwait          milter_signals.c  (libmilter's signal thread)
#       listen, accept,  milter_idle.c     (libmilter's accept loop and idle
#       poll                                connections)
#       d2i_PUBKEY_bio   sdkim_pkey.c      (libopendkim's key decoding, cached)
#   - ses-milter-audit and ses-milter-token export no function at all;
#   - each plugin exports exactly one symbol, ses_milter_plugin.
# Under the sanitizers the runtime's own hooks are not ours and are ignored: the
# __asan_/__tsan_/... names, and under a static runtime (clang's) every name its
# archive defines (SM_SAN_RUNTIME, from configure), which the link adds to the
# map (mk/core.am) - except the names the map itself lists.
set -u
export LC_ALL=C # one collation for sort and comm
BUILD=${SM_BUILDDIR:-.}
SRC=${SM_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
MAP=$SRC/src/milter/ses-milter.map
command -v nm >/dev/null 2>&1 || { echo "SKIP: no nm (binutils)"; exit 77; }
n=0 fails=0
ok() {
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi
}
# funcs FILE - the functions FILE defines in its dynamic symbol table, sorted
funcs() {
    nm -D --defined-only "$1" 2>/dev/null | awk '$2 == "T" || $2 == "W" && $3 !~ /^data_start$/ {print $3}' |
        grep -Ev '^(_init|_fini|_start|main|__asan_.*|__ubsan_.*|__sanitizer_.*|__lsan_.*|__tsan_.*)$' | sort
}
# the static sanitizer runtime's names, one a line (empty without one)
san=$(mktemp)
trap 'rm -f "$san" "$san.keep" "$san.drop"' EXIT
for a in ${SM_SAN_RUNTIME:-}; do
    nm -g --defined-only "$a" 2>/dev/null | awk 'NF == 3 {print $3}'
done | sort -u >"$san"
# ours FILE [KEEP...] - funcs FILE without the static sanitizer runtime's names (but KEEP)
ours() {
    f=$1
    shift
    printf '%s\n' "$@" | grep -v '^$' | sort -u >"$san.keep"
    comm -13 "$san.keep" "$san" >"$san.drop"
    funcs "$f" | comm -23 - "$san.drop"
}
bin() { # bin NAME - the real executable (libtool may keep it in .libs)
    if [ -x "$BUILD/.libs/$1" ]; then echo "$BUILD/.libs/$1"; else echo "$BUILD/$1"; fi
}
# the names on the map's global: line, sorted (the map keeps them on one line)
want=$(sed -n 's/^[[:space:]]*global:\(.*\)$/\1/p' "$MAP" 2>/dev/null | tr ';' '\n' | tr -d ' \t' |
    grep -v '^$' | sort | tr '\n' ' ' | sed 's/ $//')
[ -n "$want" ]
ok $? "the version script $MAP lists the interposed functions on its global: line; got: ${want:-nothing}"
grep -Eq '^[[:space:]]*local:[[:space:]]*\*;' "$MAP"
ok $? "the version script hides everything else (local: *;)"
got=$(ours "$(bin ses-milter)" $want | tr '\n' ' ' | sed 's/ $//')
[ "$got" = "$want" ]
ok $? "ses-milter exports exactly the interposed functions ($want); got: ${got:-nothing}"
if [ -s "$san" ]; then
    nm -D --defined-only "$(bin ses-milter)" | awk '{print $3}' | grep -qx pthread_create
    ok $? "ses-milter keeps the static sanitizer runtime's interceptors exported (pthread_create)"
fi
for p in ses-milter-audit ses-milter-token; do
    got=$(ours "$(bin $p)" | tr '\n' ' ' | sed 's/ $//')
    [ -z "$got" ]
    ok $? "$p exports no function; got: ${got:-nothing}"
done
for so in "$BUILD"/plugins/*/.libs/*.so; do
    got=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -Ev '^(_init|_fini|__bss_start|_edata|_end)$' | tr '\n' ' ' | sed 's/ $//')
    [ "$got" = ses_milter_plugin ]
    ok $? "plugin $(basename "$so") exports only ses_milter_plugin; got: ${got:-nothing}"
done
echo "1..$n"
[ "$fails" -eq 0 ]
