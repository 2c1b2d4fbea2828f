#!/bin/bash
# demo.sh - install, build, and run ses-milter in front of a throwaway Postfix
#
# Everything happens on loopback inside a private network + mount namespace:
# a Postfix with its own configuration and queue, ses-milter with the
# embedded "file" identity source (no AWS account needed), opendkim signing
# after it and a second opendkim verifying, nsd for their DNS, and smtp-sink
# as the relay.  swaks sends six messages; the output has one section per
# job: the identity gate (one line per message with its reply), the alignment
# prediction with its advice, a newsletter's unsubscribe headers signed
# downstream and verified, and the audit trail's verify and report.
set -uo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=${SM_BUILDDIR:-$SRC/build}
t0=$(date +%s)
bash "$SRC/scripts/deps.sh" run || exit 1
bash "$SRC/scripts/build.sh" "$B" || exit 1
t1=$(date +%s)
SM_SRCDIR=$SRC SM_BUILDDIR=$B bash "$SRC/scripts/demo-run.sh"
rc=$?
echo "(demo: $(($(date +%s) - t1)) s; packages and build before it: $((t1 - t0)) s)"
exit $rc
