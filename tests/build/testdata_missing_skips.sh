#!/bin/bash
# testdata_missing_skips.sh - a missing external suite is a SKIP, or a failure when required
#
# Proves, for every unit test that reads an external suite (../shared/testdata,
# configure --with-testdata, $SM_TESTDATA):
#   - with SM_TESTDATA pointing nowhere it exits 77 (automake's SKIP) and prints a
#     "SKIP:" line naming the suite it misses;
#   - with SM_REQUIRE_TESTDATA=1 as well (scripts/test.sh, CI) it exits 99 (automake's
#     ERROR, counted as a failure) and says that the suite is required;
# and that scripts/test.sh sets SM_REQUIRE_TESTDATA=1.
#
# usage: testdata_missing_skips.sh   (from make check: SM_BUILDDIR, SM_SRCDIR)
set -u
BUILD=${SM_BUILDDIR:-.}
SRC=${SM_SRCDIR:-.}
NOWHERE=/nonexistent/sm-no-testdata
fails=0
n=0

ok() { # ok RC NAME - one TAP line
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi
}

# test binary (under the build tree) and the suite it must name when that is missing
cases="tests/unit/lib/test_addr_corpus mail
tests/unit/auth/test_dkim_vectors dkim
tests/unit/auth/test_dmarc dmarc/opendmarc
tests/unit/identity/test_identity dmarc/psl
tests/unit/lib/test_domain_psl dmarc/psl
tests/unit/ses/test_sigv4 sigv4/aws4_testsuite
tests/unit/auth/test_spf_suite spf/openspf"

while read -r t suite; do
    [ -x "$BUILD/$t" ] || { ok 1 "$t is built"; continue; }
    out=$(env -u SM_REQUIRE_TESTDATA SM_TESTDATA=$NOWHERE "$BUILD/$t" 2>&1)
    rc=$?
    ok $((rc != 77)) "$t without the suites exits 77 (got $rc)"
    echo "$out" | grep -q "^SKIP: .*$NOWHERE/$suite" 
    ok $? "$t names the missing suite $suite in a SKIP line"
    out=$(SM_REQUIRE_TESTDATA=1 SM_TESTDATA=$NOWHERE "$BUILD/$t" 2>&1)
    rc=$?
    ok $((rc != 99)) "$t with SM_REQUIRE_TESTDATA=1 exits 99 (got $rc)"
    echo "$out" | grep -q "^ERROR: .*$NOWHERE/$suite.*required"
    ok $? "$t says the missing suite $suite is required"
done <<EOF
$cases
EOF

grep -q '^export SM_REQUIRE_TESTDATA=1' "$SRC/scripts/test.sh"
ok $? "scripts/test.sh requires the external suites (SM_REQUIRE_TESTDATA=1)"

echo "1..$n"
[ "$fails" -eq 0 ]
