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
 libjansson-dev zlib1g-dev publicsuffix ca-certificates"
RUN="postfix swaks iproute2 util-linux procps python3 opendkim opendkim-tools nsd logrotate strace"
# make check lints the manual pages (tests/build/man_pages_lint.sh)
TEST_MAN="groff-base man-db mandoc"
TEST="libcmocka-dev libyaml-dev miltertest opendkim opendkim-tools opendmarc nsd
 bind9-dnsutils spfquery openssl python3 clang libclang-rt-14-dev valgrind"
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
echo "deps.sh: all packages present"
