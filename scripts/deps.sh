#!/bin/bash
# deps.sh - install what ses-milter needs to build, run and test on Debian 12
#
# Non-interactive; Postfix is preseeded to "No configuration" so that the
# package never touches a real mail setup.  Safe to run more than once.
set -euo pipefail
trap 'echo "deps.sh: failed (exit $?): $BASH_COMMAND" >&2' ERR
if [ "$(id -u)" != 0 ]; then
    echo "deps.sh: run as root (apt-get)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
BUILD="build-essential autoconf automake libtool pkg-config libmilter-dev libopendkim-dev
 libspf2-dev libssl-dev libcurl4-openssl-dev libconfig-dev libpsl-dev libidn2-dev
 libjansson-dev zlib1g-dev publicsuffix ca-certificates libhiredis-dev libmicrohttpd-dev"
RUN="postfix swaks iproute2 util-linux procps python3 opendkim opendkim-tools nsd logrotate strace"
# make check lints the manual pages (tests/build/man_pages_lint.sh)
TEST_MAN="groff-base man-db mandoc"
TEST="libcmocka-dev libyaml-dev miltertest opendkim opendkim-tools opendmarc nsd
 bind9-dnsutils spfquery openssl python3 clang libclang-rt-14-dev valgrind
 m4 liblockfile1 libwrap0 sasl2-bin redis-server prometheus curl"
case "${1:-all}" in
    run) PKGS="$BUILD $RUN libcmocka-dev libyaml-dev" ;;
    *) PKGS="$BUILD $RUN $TEST $TEST_MAN" ;;
esac
# dpkg-query exits 1 when it has never heard of a package: that is "missing", not an error
missing=$(dpkg-query -W -f='${Package} ${Status}\n' $PKGS 2>/dev/null | awk '$4 != "installed" {print $1}' || true)
for p in $PKGS; do dpkg-query -W "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$(echo $missing)" ]; then
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
fi
# the SES test endpoint checks signatures with botocore
if [ "${1:-all}" != run ] && ! python3 -c 'import botocore' 2>/dev/null; then
    apt-get install -y -qq --no-install-recommends python3-botocore >/dev/null
fi
# Debian's sendmail-bin conflicts with Postfix (installing it removes Postfix):
# the Sendmail test bed runs it from a private prefix, unpacked, not installed
# (what it needs besides, m4, liblockfile1, libwrap0 and sasl2-bin for the AUTH
# test's saslpasswd2, is installed above)
SENDMAIL_PREFIX=${SM_SENDMAIL_PREFIX:-/opt/ses-milter-test/sendmail}
SENDMAIL_PKGS="sendmail-bin sendmail-base sendmail-cf"
if [ "${1:-all}" != run ]; then
    want=$(apt-cache policy sendmail-bin | sed -n 's/^ *Candidate: //p')
    if [ -z "$want" ] || [ "$want" = "(none)" ]; then
        apt-get update -qq
        want=$(apt-cache policy sendmail-bin | sed -n 's/^ *Candidate: //p')
    fi
    if [ "$(cat "$SENDMAIL_PREFIX/.version" 2>/dev/null)" != "$want" ]; then
        dl=$(mktemp -d /tmp/sm-deps.XXXXXX)
        chown _apt "$dl" 2>/dev/null || true   # apt downloads as its _apt user
        # shellcheck disable=SC2086
        (cd "$dl" && apt-get download -qq $SENDMAIL_PKGS)
        rm -rf "$SENDMAIL_PREFIX.new"; mkdir -p "$SENDMAIL_PREFIX.new"
        for deb in "$dl"/*.deb; do dpkg-deb -x "$deb" "$SENDMAIL_PREFIX.new"; done
        echo "$want" > "$SENDMAIL_PREFIX.new/.version"
        mkdir "$SENDMAIL_PREFIX.new/bed"   # the test bed mounts its private tmpfs here
        rm -rf --one-file-system "$SENDMAIL_PREFIX" "$dl"; mv "$SENDMAIL_PREFIX.new" "$SENDMAIL_PREFIX"
    fi
fi
echo "deps.sh: all packages present"
