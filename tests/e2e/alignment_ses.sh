#!/bin/bash
# alignment_ses.sh - end to end: Postfix + ses-milter + the SES plugin against the
# test SES endpoint (which checks every request's SigV4 signature with botocore)
# + nsd serving the senders' DMARC policies.
#
# Proves the three SES DMARC scenarios (docs/SES.md):
#   address identity only                 -> DKIM d=amazonses.com, DMARC fails, advice given
#   verified domain with Easy DKIM        -> DKIM aligned, DMARC passes
#   domain + verified custom MAIL FROM    -> DKIM and SPF aligned, DMARC passes
# and that an identity SES does not know is refused with 550 5.7.1 at submission.
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"
python3 -c 'import botocore' 2>/dev/null || { echo "SKIP: python3 botocore missing"; exit 77; }

for d in addr.example dkim.example full.example; do
    tb_zone "$d" "$W/dns/$d.zone"
    { echo '@ IN TXT "v=spf1 -all"'; echo '_dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:d@'"$d"'"'; } >> "$W/dns/$d.zone"
    tb_start_nsd "$d" "$W/dns/$d.zone"
done
echo 'bounce IN TXT "v=spf1 include:amazonses.com ~all"' >> "$W/dns/full.example.zone"
tb_run_nsd || exit 1

cat > "$W/fixture.json" <<'EOF_FIX'
{"region": "us-east-1", "temp_ttl": 900, "silent_s": 4,
 "credentials": [{"access_key_id": "AKIDE2ETEST", "secret_access_key": "e2eSecretKeyDoNotLog"}],
 "account": {"ProductionAccessEnabled": true, "SendingEnabled": true, "EnforcementStatus": "HEALTHY"},
 "identities": {
  "alice@addr.example": {"IdentityType": "EMAIL_ADDRESS", "VerifiedForSendingStatus": true,
     "VerificationStatus": "SUCCESS",
     "DkimAttributes": {"SigningEnabled": false, "Status": "NOT_STARTED"}},
  "dkim.example": {"IdentityType": "DOMAIN", "VerifiedForSendingStatus": true,
     "VerificationStatus": "SUCCESS",
     "DkimAttributes": {"SigningEnabled": true, "Status": "SUCCESS", "SigningAttributesOrigin": "AWS_SES"},
     "MailFromAttributes": null},
  "full.example": {"IdentityType": "DOMAIN", "VerifiedForSendingStatus": true,
     "VerificationStatus": "SUCCESS",
     "DkimAttributes": {"SigningEnabled": true, "Status": "SUCCESS", "SigningAttributesOrigin": "AWS_SES"},
     "MailFromAttributes": {"MailFromDomain": "bounce.full.example", "MailFromDomainStatus": "SUCCESS",
                            "BehaviorOnMxFailure": "USE_DEFAULT_VALUE"}}
 }}
EOF_FIX
python3 "$SM_SRCDIR/tests/ses/ses_endpoint.py" --fixture "$W/fixture.json" --port-file "$W/run/ses.port" \
    > "$W/ses-endpoint.log" 2>&1 & TB_PIDS+=($!)
for _ in $(seq 100); do [ -s "$W/run/ses.port" ] && break; sleep 0.1; done
port=$(cat "$W/run/ses.port" 2>/dev/null) || { echo "SES endpoint did not start"; exit 1; }

mkdir -p "$W/plugins"
install -m 644 "$SM_BUILDDIR/plugins/ses/.libs/ses.so" "$W/plugins/"
export AWS_ACCESS_KEY_ID=AKIDE2ETEST AWS_SECRET_ACCESS_KEY=e2eSecretKeyDoNotLog
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_SESV2
tb_milter_conf "$W/milter.conf" <<EOC
scope: { internal_networks = [ "127.0.0.0/8" ]; };
identity: {
  plugin_dir = "$W/plugins";
  sources = ( { name = "ses-us"; plugin = "ses"; region = "us-east-1";
                endpoint = "http://127.0.0.1:$port"; insecure_http = true;
                credentials_source = "env"; rate = 50; burst = 50; } );
  check_envelope_from = false;
};
alignment: { relay = "ses"; action = "tag"; result_header = "X-SES-Milter-Alignment"; };
EOC
tb_start_milter "$W/milter.conf" || exit 1
tb_start_postfix || exit 1
stats() { python3 -c "import json,urllib.request; c=json.load(urllib.request.urlopen('http://127.0.0.1:$port/__stats'))['counts']; print(c.get('$1',0))"; }
for _ in $(seq 100); do [ "$(stats ListEmailIdentities)" -ge 1 ] && break; sleep 0.1; done
tb_check "warm-up: ListEmailIdentities filled the cache at start" test "$(stats ListEmailIdentities)" -ge 1

send() { tb_swaks --from "$1" --to bob@example.org --h-From "$1" --header "X-Marker: $2" --body "x"; }
captured() { grep -l "X-Marker: $1\$" "$W"/capture/* 2>/dev/null | head -1; }
hdr() { sed -n 's/^X-SES-Milter-Alignment: *//p' "$1" | head -1; }

out=$(send alice@addr.example a); tb_check "address identity: queued" grep -q '250 2.0.0 Ok: queued' <<<"$out"
out=$(send bob@dkim.example b);   tb_check "Easy DKIM domain: queued" grep -q '250 2.0.0 Ok: queued' <<<"$out"
out=$(send carol@full.example c); tb_check "custom MAIL FROM domain: queued" grep -q '250 2.0.0 Ok: queued' <<<"$out"
out=$(send dave@unknown.example u)
tb_check "identity SES does not know: 550 5.7.1 at submission" grep -q '<\*\* 550 5.7.1' <<<"$out"
tb_wait_capture 3
calls=$(stats GetEmailIdentity)
out=$(send bob@dkim.example b2)
tb_check "details fetched once: a second message makes no API call" test "$(stats GetEmailIdentity)" = "$calls"
tb_wait_capture 4
tb_check "the second message gets the same prediction from the cache" grep -q 'dmarc=pass' <<<"$(hdr "$(captured b2)")"
a=$(captured a); b=$(captured b); c=$(captured c)
tb_check "address identity: DMARC predicted to fail" grep -q 'dmarc=fail' <<<"$(hdr "$a")"
# action "tag" with a result header: the tag is that header, added once, not twice
tb_check "address identity: tagged with one X-SES-Milter-Alignment header" \
    test "$(grep -c '^X-SES-Milter-Alignment:' "$a")" = 1
tb_check "Easy DKIM domain: one X-SES-Milter-Alignment header" \
    test "$(grep -c '^X-SES-Milter-Alignment:' "$b")" = 1
tb_check "address identity: the advice says to verify the domain and enable Easy DKIM" \
    grep -Eq 'alignment: .*verify the domain addr\.example.*Easy DKIM' "$W/milter.log"
tb_check "Easy DKIM domain: DMARC predicted to pass" grep -q 'dmarc=pass' <<<"$(hdr "$b")"
tb_check "Easy DKIM domain: DKIM d=dkim.example aligned" grep -q 'dkim=dkim.example:aligned' <<<"$(hdr "$b")"
tb_check "custom MAIL FROM: DMARC predicted to pass" grep -q 'dmarc=pass' <<<"$(hdr "$c")"
tb_check "custom MAIL FROM: DKIM d=full.example aligned" grep -q 'dkim=full.example:aligned' <<<"$(hdr "$c")"
tb_check "custom MAIL FROM: SPF domain bounce.full.example aligned" grep -q 'spf=bounce.full.example:pass:aligned' <<<"$(hdr "$c")"
# the mailbox providers' verdicts (alignment.providers: all by default) in the header and the
# summary line: the address identity aligns nothing; Easy DKIM meets every provider's rules
tb_check "address identity: the header says every provider fails its aligned rule" \
    grep -q 'providers=gmail:fail(aligned),yahoo:fail(aligned),outlook:fail(aligned)' <<<"$(hdr "$a")"
tb_check "address identity: the summary line carries the provider verdicts" \
    grep -Eq 'from=<alice@addr\.example>.* providers=gmail:fail\(aligned\),yahoo:fail\(aligned\),outlook:fail\(aligned\) ' "$W/milter.log"
tb_check "address identity: the advice names Outlook.com's 550 5.7.515" \
    grep -Eq 'providers: .*Outlook\.com .*would refuse the message \(550 5\.7\.515\): neither SPF nor DKIM aligns with the From domain addr\.example' "$W/milter.log"
tb_check "Easy DKIM domain: the header says every provider passes" \
    grep -q 'providers=gmail:pass,yahoo:pass,outlook:pass' <<<"$(hdr "$b")"
tb_check "the endpoint saw only correctly signed requests" bash -c "! grep -q SignatureDoesNotMatch '$W/ses-endpoint.log'"
tb_check "no secret in the milter's log" bash -c "! grep -q e2eSecretKeyDoNotLog '$W/milter.log'"
tb_done
