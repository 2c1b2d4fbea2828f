#!/bin/bash
# demo.sh - install, build, and run ses-milter in front of a throwaway Postfix
#
# Everything happens on loopback inside a private network + mount namespace:
# a Postfix with its own configuration and queue, ses-milter with the
# embedded "file" identity source (no AWS account needed), and smtp-sink as
# the relay.  swaks sends a few messages; the script shows what ses-milter
# decided for each, the audit records and the audit report.
set -uo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=${SM_BUILDDIR:-$SRC/build}
bash "$SRC/scripts/deps.sh" run || exit 1
bash "$SRC/scripts/build.sh" "$B" || exit 1
SM_SRCDIR=$SRC SM_BUILDDIR=$B exec bash "$SRC/scripts/demo-run.sh"
