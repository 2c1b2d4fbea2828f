#!/bin/sh
# hardening.sh - checksec-style proof that what "make install" installs is hardened
#
# Proves, for every installed program (sbin_PROGRAMS, bin_PROGRAMS) and plugin
# (plugin_LTLIBRARIES), read with readelf from the build tree:
#   - programs are position-independent (ELF type DYN with the PIE flag);
#   - full RELRO: a GNU_RELRO segment and BIND_NOW (DT_FLAGS or DT_FLAGS_1 NOW);
#   - the stack protector is in: __stack_chk_fail is imported;
#   - FORTIFY is in (when configure chose -D_FORTIFY_SOURCE): some __*_chk is imported;
# and that the daemon does not link the test-only libraries (libyaml, libcmocka).
# A flag configure left out (--disable-hardening, a toolchain without it) is not
# asked for: SM_HARDEN_CFLAGS / SM_HARDEN_LDFLAGS say what configure chose.
#
# usage: hardening.sh   (from make check, which sets SM_BUILDDIR, SM_INSTALLED,
#                        SM_HARDEN_CFLAGS, SM_HARDEN_LDFLAGS)
set -u

BUILD=${SM_BUILDDIR:-.}
CFL=" ${SM_HARDEN_CFLAGS:-} "
LDF=" ${SM_HARDEN_LDFLAGS:-} "
command -v readelf >/dev/null 2>&1 || { echo "SKIP: no readelf (binutils)"; exit 77; }
[ -n "${SM_INSTALLED:-}" ] || { echo "hardening.sh: SM_INSTALLED is empty" >&2; exit 99; }
fails=0
n=0

# ok COND_RC NAME - one TAP line
ok() {
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $n - $2"
    else
        echo "not ok $n - $2"
        fails=$((fails + 1))
    fi
}

# elf_of TARGET - the ELF file behind a program or a .la (its dlname in .libs)
elf_of() {
    case $1 in
    *.la)
        dl=$(sed -n "s/^dlname='\(.*\)'/\1/p" "$BUILD/$1")
        echo "$BUILD/$(dirname "$1")/.libs/$dl"
        ;;
    *)
        if [ -f "$BUILD/$(dirname "$1")/.libs/$(basename "$1")" ]; then
            echo "$BUILD/$(dirname "$1")/.libs/$(basename "$1")" # a libtool wrapper
        else
            echo "$BUILD/$1"
        fi
        ;;
    esac
}

for t in $SM_INSTALLED; do
    f=$(elf_of "$t")
    [ -f "$f" ] || { ok 1 "$t: $f exists"; continue; }
    hdr=$(readelf -hW "$f")
    dyn=$(readelf -dW "$f")
    syms=$(readelf --dyn-syms -W "$f" | awk '$7 == "UND" {print $8}' | sed 's/@.*//')
    case $t in
    *.la) ;;
    *)
        case $CFL in *" -fPIE "*)
            echo "$hdr" | grep -q 'Type: *DYN' && echo "$dyn" | grep -q 'FLAGS_1.*PIE'
            ok $? "$t: PIE (ELF type DYN, DF_1_PIE)" ;;
        esac
        ;;
    esac
    case $LDF in *" -Wl,-z,relro "*)
        readelf -lW "$f" | grep -q GNU_RELRO
        ok $? "$t: GNU_RELRO segment" ;;
    esac
    case $LDF in *" -Wl,-z,now "*)
        echo "$dyn" | grep -Eq '\(FLAGS\).*BIND_NOW|\(FLAGS_1\).*NOW'
        ok $? "$t: BIND_NOW" ;;
    esac
    case $CFL in *" -fstack-protector-strong "*)
        echo "$syms" | grep -qx '__stack_chk_fail'
        ok $? "$t: stack protector (__stack_chk_fail imported)" ;;
    esac
    case $CFL in *" -D_FORTIFY_SOURCE="*)
        echo "$syms" | grep -Eq '^__[a-z_]+_chk$'
        ok $? "$t: FORTIFY ($(echo "$syms" | grep -Ec '^__[a-z_]+_chk$') __*_chk imported)" ;;
    esac
done

# the daemon links no test-only library
d=$(elf_of ses-milter)
readelf -dW "$d" | grep NEEDED | grep -Eq 'libyaml|libcmocka'
[ $? -ne 0 ]
ok $? "ses-milter: no libyaml or libcmocka in NEEDED"

echo "1..$n"
[ "$fails" -eq 0 ]
