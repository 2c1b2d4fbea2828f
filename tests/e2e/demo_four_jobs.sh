#!/bin/bash
# demo_four_jobs.sh - the demo (scripts/demo-run.sh) shows all four jobs
#
# Proves, on the demo's own output: the gate section has one line per message
# with its reply (four 250, one 550 5.7.1); the alignment section shows an
# aligned domain passing and a misaligned one failing with its advice; the
# newsletter's List-Unsubscribe and List-Unsubscribe-Post are covered by the
# downstream opendkim's h= and the verifying opendkim says dkim=pass; the audit
# section verifies the chain and reports; and the demo exits 0.
. "$SM_SRCDIR/tests/lib/testbed.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: the demo needs root"; exit 77; }
out=$(bash "$SM_SRCDIR/scripts/demo-run.sh" 2>&1); rc=$?
echo "$out" | sed 's/^/# /'
both() { local t; t=$(cat); grep -Eq "$1" <<<"$t" && grep -Eq "$2" <<<"$t"; } # both RE1 RE2 < text
section() { awk -v n="== $1." 'index($0, n) == 1 {p=1; next} /^== /{p=0} p' <<<"$out"; }
tb_check "the demo exits 0" test "$rc" = 0
tb_check "gate: four messages accepted, one line each with its 250 reply" \
    test "$(section 1 | grep -c -- '-> 250 2.0.0 Ok: queued as')" = 4
tb_check "gate: the unverified one refused with its 550 5.7.1 reply" \
    test "$(section 1 | grep -c -- '-> 550 5.7.1 Sender identity <eve@unverified.example> is not verified')" = 1
tb_check "alignment: the aligned domain passes" \
    grep -q 'bob@example.com  *DMARC pass via aligned DKIM and SPF' <<<"$(section 2)"
tb_check "alignment: the misaligned domain fails, with the advice line" \
    grep -q 'advice: DMARC would fail for partner.example' <<<"$(section 2)"
tb_check "unsubscribe: both headers on the relayed newsletter" \
    both 'List-Unsubscribe: <https://example.com/unsubscribe/' 'List-Unsubscribe-Post: List-Unsubscribe=One-Click' <<<"$(section 3)"
tb_check "unsubscribe: the downstream signature covers both" \
    grep -q 'covers List-Unsubscribe and List-Unsubscribe-Post: yes' <<<"$(section 3)"
tb_check "unsubscribe: the verifying opendkim says dkim=pass" grep -q 'dkim=pass header.d=example.com' <<<"$(section 3)"
tb_check "audit: the chain verifies" grep -q 'OK: 6 records in 1 file' <<<"$(section 4)"
tb_check "audit: the report counts the refusal and the unsubscribe headers" \
    both 'refused +1$' 'List-Unsubscribe-Post +1$' <<<"$(section 4)"
tb_done
