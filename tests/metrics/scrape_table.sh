#!/bin/bash
# scrape_table.sh - end to end: /metrics counts exactly what a real Postfix sent through
#
# swaks -> Postfix :10025 [ses-milter, SES plugin -> test SES endpoint] -> smtp-sink.
# A table of messages (accepted, accepted from the cache, refused, unsubscribe
# headers added, tempfailed by an SES 500 and by an SES 429, inbound), then curl scrapes
# /metrics.  Proves: each message is counted once under its scope, action and
# reason; the gate's answers by source, plugin and cache result; the SES API
# calls, throttles and errors by operation equal what the endpoint saw; audit
# records written; the stage histograms count every message; build info and
# start time are there; promtool check metrics accepts the whole text; a path
# other than /metrics is 404 and a POST 405.  Then a second daemon with alignment
# on: one message whose envelope domain has an SPF record (served by nsd) counts
# SPF's queries with DMARC's in the DNS counters, and the same message again is
# served from the one DNS cache.
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"
python3 -c 'import botocore' 2>/dev/null || { echo "SKIP: python3 botocore missing"; exit 77; }
command -v promtool >/dev/null || { echo "SKIP: promtool missing (Debian package prometheus)"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl missing"; exit 77; }

cat > "$W/fixture.json" <<'EOF_FIX'
{"region": "us-east-1", "temp_ttl": 900, "silent_s": 4,
 "credentials": [{"access_key_id": "AKIDMETRICS", "secret_access_key": "metricsSecretDoNotLog"}],
 "account": {"ProductionAccessEnabled": true, "SendingEnabled": true, "EnforcementStatus": "HEALTHY"},
 "identities": {
  "verified.example": {"IdentityType": "DOMAIN", "VerifiedForSendingStatus": true,
     "VerificationStatus": "SUCCESS",
     "DkimAttributes": {"SigningEnabled": true, "Status": "SUCCESS", "SigningAttributesOrigin": "AWS_SES"},
     "MailFromAttributes": null},
  "pending.example": {"IdentityType": "DOMAIN", "VerifiedForSendingStatus": false,
     "VerificationStatus": "PENDING",
     "DkimAttributes": {"SigningEnabled": true, "Status": "PENDING", "SigningAttributesOrigin": "AWS_SES"},
     "MailFromAttributes": null}
 }}
EOF_FIX
python3 "$SM_SRCDIR/tests/ses/ses_endpoint.py" --fixture "$W/fixture.json" --port-file "$W/run/ses.port" \
    > "$W/ses-endpoint.log" 2>&1 & TB_PIDS+=($!)
for _ in $(seq 100); do [ -s "$W/run/ses.port" ] && break; sleep 0.1; done
port=$(cat "$W/run/ses.port" 2>/dev/null) || { echo "SES endpoint did not start"; exit 1; }
mkdir -p "$W/plugins" "$W/audit"; chown nobody:nogroup "$W/audit"
install -m 644 "$SM_BUILDDIR/plugins/ses/.libs/ses.so" "$W/plugins/"
export AWS_ACCESS_KEY_ID=AKIDMETRICS AWS_SECRET_ACCESS_KEY=metricsSecretDoNotLog
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_SESV2
"$SM_BUILDDIR/ses-milter-token" genkey "$W/unsub.key" >/dev/null || exit 1
tb_milter_conf "$W/milter.conf" <<EOC
scope: { internal_networks = [ "127.0.0.1/32" ]; };   # 127.0.0.2 is outside: inbound
identity: {
  plugin_dir = "$W/plugins";
  sources = ( { name = "ses-us"; plugin = "ses"; region = "us-east-1";
                endpoint = "http://127.0.0.1:$port"; insecure_http = true;
                credentials_source = "env"; rate = 50; burst = 50; } );
  check_envelope_from = false;
};
unsubscribe: {
  token_key_file = "$W/unsub.key";
  rules = ( { name = "news"; senders = [ "news.verified.example" ];
              url = "https://verified.example/unsubscribe/%{token}"; multi_recipient = "skip"; } );
};
audit: { file = "$W/audit/audit.jsonl"; recipients = "hashed"; recipient_key_file = "$W/unsub.key"; };
metrics: { listen = "127.0.0.1:9465"; };
EOC
tb_start_milter "$W/milter.conf" || exit 1
tb_wait_port 9465 || exit 1
tb_start_postfix || exit 1

mode() { curl -s -X POST "http://127.0.0.1:$port/__mode?ses=$1" >/dev/null; }
send() { # send FROM MARKER
    tb_swaks --from bounce@verified.example --to reader@example.org --h-From "$1" \
        --header "X-Marker: $2" --body "marker $2"
}
# the table: From, SES mode, what the client must see
while read -r from ses expect; do
    mode "$ses"
    out=$(send "$from" "m-$from")
    tb_check "$from (SES $ses): the client sees $expect" grep -q "$expect" <<<"$out"
done <<'EOT'
bob@verified.example        ok   250 2.0.0 Ok: queued
bob@verified.example        ok   250 2.0.0 Ok: queued
eve@pending.example         ok   <\*\* 550 5.7.1
news@news.verified.example  ok   250 2.0.0 Ok: queued
amy@down.example            500  <\*\* 451 4
ann@busy.example            429  <\*\* 451 4
EOT
mode ok
out=$(tb_swaks --local-interface 127.0.0.2 --from x@elsewhere.example --to reader@example.org \
    --h-From x@elsewhere.example --header "X-Marker: m-inbound" --body inbound)
tb_check "inbound mail (client 127.0.0.2, outside scope.internal_networks) passes" \
    grep -q '250 2.0.0 Ok: queued' <<<"$out"
tb_wait_capture 4
f=$(grep -l "X-Marker: m-news@news.verified.example" "$W"/capture/* | head -1)
tb_check "the news message carries List-Unsubscribe" grep -q '^List-Unsubscribe: <https://verified.example/unsubscribe/' "$f"

curl -s -D "$W/headers" -o "$W/metrics.txt" http://127.0.0.1:9465/metrics
curl -s "http://127.0.0.1:$port/__stats" > "$W/stats.json"
M=$W/metrics.txt
val() { awk -v k="$1" '$1 == k { print $2; n++ } END { if (!n) print "absent" }' "$M"; }
stat() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["counts"].get(sys.argv[2], 0))' "$W/stats.json" "$1"; }
expect() { # expect SERIES VALUE
    local got; got=$(val "$1")
    tb_check "$1 = $2 (got $got)" test "$got" = "$2"
}
tb_check "/metrics answers 200 text/plain version 0.0.4" \
    grep -qi '^content-type: text/plain; version=0.0.4' "$W/headers"
tb_check "promtool check metrics accepts the text" promtool check metrics < "$M"
s='scope="internal_network"'
expect "ses_milter_messages_total{$s,action=\"accept\",reason=\"passed\"}" 3
expect "ses_milter_messages_total{$s,action=\"reject\",reason=\"identity_not_verified\"}" 1
expect "ses_milter_messages_total{$s,action=\"tempfail\",reason=\"identity_tempfail\"}" 2
expect "ses_milter_messages_total{scope=\"external\",action=\"accept\",reason=\"out_of_scope\"}" 1
tb_check "no other message series" test "$(grep -c '^ses_milter_messages_total{' "$M")" = 4
i='source="ses-us",plugin="ses"'
# each message asks for the From address first, then its domains (SES's identity chain);
# the warm-up (ListEmailIdentities) put verified.example and pending.example in the cache:
#   bob (1st)  address: unknown, miss        verified.example: verified, hit
#   bob (2nd)  address: unknown, hit         verified.example: verified, hit
#   eve        address: unknown, miss        pending.example: not verified, hit
#   news       address, news.verified.example: unknown, miss;  verified.example: verified, hit
#   amy, ann   address: tempfail (SES 500, 429), miss
expect "ses_milter_gate_answers_total{$i,answer=\"unknown\",cache=\"miss\"}" 4
expect "ses_milter_gate_answers_total{$i,answer=\"unknown\",cache=\"hit\"}" 1
expect "ses_milter_gate_answers_total{$i,answer=\"verified\",cache=\"hit\"}" 3
expect "ses_milter_gate_answers_total{$i,answer=\"not_verified\",cache=\"hit\"}" 1
expect "ses_milter_gate_answers_total{$i,answer=\"tempfail\",cache=\"miss\"}" 2
tb_check "no other gate answer series" test "$(grep -c '^ses_milter_gate_answers_total{' "$M")" = 5
expect "ses_milter_ses_api_calls_total{operation=\"GetAccount\"}" "$(stat GetAccount)"
expect "ses_milter_ses_api_calls_total{operation=\"ListEmailIdentities\"}" "$(stat ListEmailIdentities)"
expect "ses_milter_ses_api_calls_total{operation=\"GetEmailIdentity\"}" \
    $(( $(stat GetEmailIdentity) + $(stat Throttled) + $(stat ServerError) ))
expect "ses_milter_ses_api_throttles_total{operation=\"GetEmailIdentity\"}" "$(stat Throttled)"
expect "ses_milter_ses_api_errors_total{operation=\"GetEmailIdentity\"}" "$(stat ServerError)"
tb_check "the endpoint saw one throttled call" test "$(stat Throttled)" = 1
expect "ses_milter_unsubscribe_headers_added_total" 1
expect "ses_milter_audit_records_total{result=\"written\"}" 6
expect "ses_milter_audit_records_total{result=\"failed\"}" 0
expect "ses_milter_stage_duration_seconds_count{stage=\"end_of_message\"}" 6
expect "ses_milter_stage_duration_seconds_count{stage=\"gate\"}" 6
# refused and tempfailed mail gets no unsubscribe headers: the stage runs for the 3 accepted
expect "ses_milter_stage_duration_seconds_count{stage=\"unsubscribe\"}" 3
expect "ses_milter_stage_duration_seconds_bucket{stage=\"gate\",le=\"+Inf\"}" 6
expect "ses_milter_reloads_total{result=\"success\"}" 0
expect "ses_milter_build_info{version=\"$("$SM_BUILDDIR/ses-milter" -V | awk '{print $2}')\"}" 1
tb_check "process_start_time_seconds is the daemon's start (within a minute)" \
    awk -v now="$(date +%s)" '$1 == "process_start_time_seconds" { ok = now - $2 < 60 && now - $2 >= 0 } END { exit !ok }' "$M"
tb_check "source lookups timed: one per SES call" test \
    "$(val "ses_milter_source_lookup_duration_seconds_count{$i}")" = "$(val "ses_milter_ses_api_calls_total{operation=\"GetEmailIdentity\"}")"
tb_check "no label names a recipient or a sender" bash -c "! grep -Eq 'example\\.(org|com)|(verified|elsewhere)\\.example' '$M'"
tb_check "another path: 404" test "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9465/)" = 404
tb_check "POST /metrics: 405" test "$(curl -s -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:9465/metrics)" = 405
tb_stop_milter
tb_check "after the stop nothing listens on 9465" bash -c "! ss -Hltn 'sport = :9465' | grep -q ."

# SPF's queries go through lib/dns.c like DMARC's: counted, and cached
mkdir -p "$W/dns"
cat > "$W/dns/verified.example.zone" <<'EOZ'
$ORIGIN verified.example.
$TTL 300
@ IN SOA ns hostmaster 1 3600 600 86400 300
@ IN NS ns
ns IN A 127.0.0.1
@ IN TXT "v=spf1 mx a:out.verified.example -all"
@ IN MX 10 mx
mx IN A 198.51.100.9
out IN A 192.0.2.1
_dmarc IN TXT "v=DMARC1; p=none"
EOZ
# the DMARC tree walk also asks _dmarc.example: NXDOMAIN from here (cached), not REFUSED
printf '$ORIGIN example.\n$TTL 300\n@ IN SOA ns.verified.example. h 1 3600 600 86400 300\n@ IN NS ns.verified.example.\n' \
    > "$W/dns/example.zone"
tb_start_nsd verified.example "$W/dns/verified.example.zone"
tb_start_nsd example "$W/dns/example.zone"
tb_run_nsd || exit 1
tb_milter_conf "$W/milter-spf.conf" <<EOC
scope: { internal_networks = [ "127.0.0.1/32" ]; };
identity: {
  plugin_dir = "$W/plugins";
  sources = ( { name = "ses-us"; plugin = "ses"; region = "us-east-1";
                endpoint = "http://127.0.0.1:$port"; insecure_http = true;
                credentials_source = "env"; rate = 50; burst = 50; } );
  check_envelope_from = false;
};
alignment: { relay = "direct"; egress_ips = [ "192.0.2.1" ]; action = "tag"; };
metrics: { listen = "127.0.0.1:9465"; };
EOC
tb_start_milter "$W/milter-spf.conf" || exit 1
tb_wait_port 9465 || exit 1
for n in 1 2; do
    out=$(send bob@verified.example "m-spf-$n")
    tb_check "SPF-evaluated message $n is accepted" grep -q '250 2.0.0 Ok: queued' <<<"$out"
done
tb_check "DMARC passed through SPF alone (no DKIM signature): SPF evaluated" \
    test "$(grep -c 'from=<bob@verified.example> .* dmarc=pass ' "$W/milter.log")" = 2
curl -s -o "$M" http://127.0.0.1:9465/metrics
# the first message sends SPF's TXT verified.example, MX verified.example, A mx.verified.example,
# A out.verified.example and DMARC's TXT _dmarc.verified.example and _dmarc.example (the tree
# walk), then finds 3 DMARC answers in the cache; before issue 17 only DMARC's 2 were counted.
# The second message sends nothing: its 4 SPF and 5 DMARC lookups are cache hits.
expect "ses_milter_dns_queries_total" 6
expect "ses_milter_dns_errors_total" 0
expect "ses_milter_dns_cache_hits_total" 12
tb_stop_milter
tb_done
