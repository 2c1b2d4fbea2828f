#!/bin/bash
# dns_gone_alignment_tempfails.sh - the DNS server goes away mid-run while alignment enforces
#
# Alignment on (relay "direct", egress 192.0.2.10, action "enforce",
# temperror_action "tempfail"; the DNS cache keeps answers 1 s at most), the
# sender's domain publishes SPF for the egress address and DMARC p=reject.
# nsd is stopped while mail flows, then started again.  Proves: a DNS server
# that is gone is a temporary error (4xx, the client keeps the message), never
# a refusal or an unchecked accept; every accepted message is relayed and
# checked; once nsd is back the next message is served.  Short: 300 messages;
# soak (SM_FAULT_SOAK=1): 4000 messages, nsd stopped 5 times.
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"
. "$SM_SRCDIR/tests/faults/lib.sh"
if [ "$FL_SOAK" = 1 ]; then N=4000 OUTAGES=5; else N=300 OUTAGES=1; fi

tb_zone dnsalign.example "$W/dns/dnsalign.example.zone"
{ echo '@ 1 IN TXT "v=spf1 ip4:192.0.2.10 -all"'; echo '_dmarc 1 IN TXT "v=DMARC1; p=reject"'; } \
    >> "$W/dns/dnsalign.example.zone"
tb_start_nsd dnsalign.example "$W/dns/dnsalign.example.zone"
tb_run_nsd || exit 1
NSD_PID=${TB_PIDS[-1]}
nsd_stop() {
    kill "$NSD_PID"
    for _ in $(seq 50); do kill -0 "$NSD_PID" 2>/dev/null || break; sleep 0.1; done
    wait "$NSD_PID" 2>/dev/null
}

fl_identities "$W/identities" dnsalign.example
fl_milter_conf "$W/milter.conf" <<EOC
scope: { internal_networks = [ "127.0.0.0/8" ]; };
identity: { plugin_dir = "$W/plugins";
  sources = ( { name = "local"; plugin = "file"; path = "$W/identities"; } ); };
alignment: { relay = "direct"; egress_ips = [ "192.0.2.10" ]; action = "enforce";
  temperror_action = "tempfail"; dns: { timeout_ms = 1000; min_ttl = 0; max_ttl = 1; neg_ttl = 0; }; };
spf: { timeout_ms = 1000; };
audit: { file = "$W/audit/audit.jsonl"; recipients = "plain"; fsync = "never"; };
EOC
fl_start "$W/milter.conf" || exit 1
tb_start_postfix || exit 1
fl_probe "before the faults" a@dnsalign.example || exit 1
tb_check "alignment passes while DNS is up (dmarc=pass in the summary line)" \
    grep -q 'from=<a@dnsalign.example>.*dmarc=pass' "$W/milter.log"

# paced (30 ms after each session) so that each outage outlasts the 1 s DNS cache
fl_client dns "$N" 4 --pause-ms 30 --from a@dnsalign.example --from b@dnsalign.example
step=$((N / (2 * OUTAGES + 1)))
for ((i = 0; i < OUTAGES; i++)); do
    fl_wait_progress dns $(((2 * i + 1) * step)) 120 || break
    nsd_stop
    sleep 1.5 # longer than any cached answer lives (max_ttl = 1)
    fl_wait_progress dns $(((2 * i + 2) * step)) 300 || break
    tb_run_nsd || exit 1
    NSD_PID=${TB_PIDS[-1]}
done
fl_client_wait
fl_drain
fl_tally dns-gone dns --audit "$W/audit/audit.jsonl" || exit 1
fl_assert_books dns-gone
tb_check "dns-gone: the outage was met: messages tempfailed ($FL_tempfailed > 0)" test "$FL_tempfailed" -gt 0
tb_check "dns-gone: a DNS server that is gone never refuses (refused = $FL_refused) nor drops a session" \
    test "$FL_refused" = 0 -a "$FL_dropped" = 0
tb_check "dns-gone: the tempfails say DMARC/SPF could not be evaluated (temperror)" \
    grep -Eq 'action=tempfail .*dmarc=temperror' "$W/milter.log"
fl_probe "dns-gone: nsd back" b@dnsalign.example
tb_done
