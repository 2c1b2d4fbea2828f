#!/bin/sh
# exported_symbols.sh - the programs export only what ELF interposition needs, the
# plugins only their descriptor
#
# Proves, read with nm -D from the build tree:
#   - ses-milter exports no function of its own core (no -export-dynamic: a plugin sees
#     the host only through the ABI header's callbacks) besides the libc/OpenSSL
#     functions it replaces on purpose, and each of those is exported (else the
#     replacement would silently not take effect):
#       sigwait          milter_signals.c  (libmilter's signal thread)
#       listen, accept,  milter_idle.c     (libmilter's accept loop and idle
#       poll                                connections)
#       d2i_PUBKEY_bio   sdkim_pkey.c       (libopendkim's key decoding, cached)
#   - ses-milter-audit and ses-milter-token export no function at all;
#   - each plugin exports exactly one symbol, ses_milter_plugin.
# Under the sanitizers the runtime's own hooks are not ours and are ignored.
set -u
BUILD=${SM_BUILDDIR:-.}
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
bin() { # bin NAME - the real executable (libtool may keep it in .libs)
    if [ -x "$BUILD/.libs/$1" ]; then echo "$BUILD/.libs/$1"; else echo "$BUILD/$1"; fi
}
want="accept d2i_PUBKEY_bio listen poll sigwait"
got=$(funcs "$(bin ses-milter)" | tr '\n' ' ' | sed 's/ $//')
[ "$got" = "$want" ]
ok $? "ses-milter exports exactly the interposed functions ($want); got: ${got:-nothing}"
for p in ses-milter-audit ses-milter-token; do
    got=$(funcs "$(bin $p)" | tr '\n' ' ' | sed 's/ $//')
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
