#!/bin/bash
# sendmail_ses_account.sh - end to end: ses-milter with the SES plugin (against the test SES
# endpoint, every SigV4 signature checked with botocore) in front of Debian's real sendmail,
# for the SES account checks (issue 15):
#   sandbox: a recipient that is not a verified identity is refused at RCPT with 550 5.7.1
#     saying the account is in the SES sandbox; a verified one is relayed
#   suppression list: a suppressed recipient is refused at RCPT with 550 5.1.1 naming the
#     reason and the region, the other recipient of the same message is relayed
#   reputation guard: an account SES shut down refuses the message (550 5.7.1 at end of
#     data, naming the region), nothing relayed
# Each reply is the one sendmail gives its client (swaks).
. "$SM_SRCDIR/tests/lib/testbed.sh"
. "$SM_SRCDIR/tests/lib/sendmail_bed.sh"
smb_require
tb_enter_ns "$@"
python3 -c 'import botocore' 2>/dev/null || { echo "SKIP: python3 botocore missing"; exit 77; }

cat > "$W/fixture.json" <<'EOF_FIX'
{"region": "us-east-1",
 "credentials": [{"access_key_id": "AKIDSMTEST", "secret_access_key": "smSecretKeyDoNotLog"}],
 "account": {"ProductionAccessEnabled": false, "SendingEnabled": true, "EnforcementStatus": "HEALTHY",
             "SendQuota": {"Max24HourSend": 50000.0, "MaxSendRate": 14.0, "SentLast24Hours": 0.0}},
 "identities": {
  "example.com": {"IdentityType": "DOMAIN", "VerifiedForSendingStatus": true, "VerificationStatus": "SUCCESS"},
  "friend@example.org": {"IdentityType": "EMAIL_ADDRESS", "VerifiedForSendingStatus": true, "VerificationStatus": "SUCCESS"},
  "bounced@example.org": {"IdentityType": "EMAIL_ADDRESS", "VerifiedForSendingStatus": true, "VerificationStatus": "SUCCESS"}},
 "suppressed": {"bounced@example.org": {"Reason": "BOUNCE"}}}
EOF_FIX
python3 "$SM_SRCDIR/tests/ses/ses_endpoint.py" --fixture "$W/fixture.json" --port-file "$W/run/ses.port" \
    > "$W/ses-endpoint.log" 2>&1 & TB_PIDS+=($!)
for _ in $(seq 100); do [ -s "$W/run/ses.port" ] && break; sleep 0.1; done
port=$(cat "$W/run/ses.port" 2>/dev/null) || { echo "SES endpoint did not start"; exit 1; }

mkdir -p "$W/plugins"
install -m 644 "$SM_BUILDDIR/plugins/ses/.libs/ses.so" "$W/plugins/"
export AWS_ACCESS_KEY_ID=AKIDSMTEST AWS_SECRET_ACCESS_KEY=smSecretKeyDoNotLog
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_SESV2 AWS_SHARED_CREDENTIALS_FILE
tb_milter_conf "$W/milter.conf" <<EOC
scope: { internal_networks = [ "127.0.0.0/8" ]; };
identity: {
  plugin_dir = "$W/plugins";
  sources = ( { name = "ses-us"; plugin = "ses"; region = "us-east-1"; endpoint = "http://127.0.0.1:$port";
                insecure_http = true; credentials_source = "env"; rate = 50; burst = 50;
                warmup_interval = 0; account_interval = 5; suppression = true;
                on_shutdown = "reject"; } );
  check_envelope_from = false;
};
ses: { suppression: { action = "refuse"; }; };
EOC
# sendmail runs as root: its socket needs no group of its own
sed -i 's/socket_group = "postfix"/socket_group = "root"/' "$W/milter.conf"
tb_start_milter "$W/milter.conf" || exit 1
for _ in $(seq 100); do grep -q 'SES account in us-east-1 in the SES sandbox' "$W/milter.log" && break; sleep 0.1; done
tb_check "the account is read at start: in the SES sandbox" \
    grep -q 'SES account in us-east-1 in the SES sandbox' "$W/milter.log"
smb_start_sendmail || exit 1
captured() { grep -l "X-Marker: $1\$" "$W"/capture/* 2>/dev/null | head -1; }
wait_captured() { for _ in $(seq 100); do [ -n "$(captured "$1")" ] && return 0; sleep 0.1; done; return 1; }

out=$(smb_swaks --from bob@example.com --h-From bob@example.com --to stranger@example.org \
      --header "X-Marker: sandbox" --body x)
tb_check "sandbox: unverified recipient refused at RCPT with 550 5.7.1 saying so" \
    grep -q '^<\*\* 550 5.7.1 <stranger@example.org>\.\.\. Recipient <stranger@example.org> is not a verified identity: the sending account in region us-east-1 is in the SES sandbox and may send only to verified identities$' <<<"$out"
tb_check "sandbox: nothing relayed" test -z "$(captured sandbox)"

out=$(smb_swaks --from bob@example.com --h-From bob@example.com --to friend@example.org,bounced@example.org \
      --header "X-Marker: suppressed" --body x)
tb_check "suppression list: 550 5.1.1 naming reason and region" \
    grep -q '^<\*\* 550 5.1.1 <bounced@example.org>\.\.\. <bounced@example.org> is on the SES account suppression list (BOUNCE) in region us-east-1: SES would not deliver to it$' <<<"$out"
tb_check "the verified recipient of that message is accepted" \
    grep -Eq '^<-  250 2.0.0 .* Message accepted for delivery' <<<"$out"
wait_captured suppressed
f=$(captured suppressed)
# the relay's envelope (smtp-sink's X-Rcpt-Args lines), not the To: header, which names both
tb_check "relayed to the other recipient only" \
    bash -c "grep -q '^X-Rcpt-Args: <friend@example.org>' '${f:-/dev/null}' && ! grep -q '^X-Rcpt-Args: <bounced@example.org>' '${f:-/dev/null}'"

curl -s -o /dev/null -X POST "http://127.0.0.1:$port/__mode?account=shutdown"
for _ in $(seq 150); do grep -q 'SES account in us-east-1 now SHUT DOWN' "$W/milter.log" && break; sleep 0.1; done
tb_check "the shutdown is seen within account_interval" grep -q 'SES account in us-east-1 now SHUT DOWN' "$W/milter.log"
out=$(smb_swaks --from bob@example.com --h-From bob@example.com --to friend@example.org \
      --header "X-Marker: shutdown" --body x)
tb_check "account shut down: the message is refused with 550 5.7.1 naming the region" \
    grep -q '^<\*\* 550 5.7.1 The sending account in region us-east-1 is SHUT DOWN by SES, disabled for sending in SES: transactional mail refused$' <<<"$out"
tb_check "account shut down: nothing relayed" test -z "$(captured shutdown)"
tb_check "the endpoint saw only correctly signed requests" bash -c "! grep -q SignatureDoesNotMatch '$W/ses-endpoint.log'"
tb_check "no secret in the milter's log" bash -c "! grep -q smSecretKeyDoNotLog '$W/milter.log'"
tb_done
