#!/bin/bash
# reload_ses_credentials_file.sh - end to end: the SES plugin reads its shared
# credentials file (root-only, 0600) at start, and a SIGHUP reads it again through
# the privileged helper although the daemon runs as nobody: new credentials put in
# the file take effect at the reload.
#
# The test SES endpoint accepts only the second key: with the first one every lookup
# is a temporary failure (451); after the file changes and SIGHUP, 250.
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"
python3 -c 'import botocore' 2>/dev/null || { echo "SKIP: python3 botocore missing"; exit 77; }

cat > "$W/fixture.json" <<'EOF_FIX'
{"region": "us-east-1", "temp_ttl": 900, "silent_s": 4,
 "credentials": [{"access_key_id": "AKIDSECOND", "secret_access_key": "secondSecretDoNotLog"}],
 "account": {"ProductionAccessEnabled": true, "SendingEnabled": true, "EnforcementStatus": "HEALTHY"},
 "identities": {
  "dkim.example": {"IdentityType": "DOMAIN", "VerifiedForSendingStatus": true,
     "VerificationStatus": "SUCCESS",
     "DkimAttributes": {"SigningEnabled": true, "Status": "SUCCESS", "SigningAttributesOrigin": "AWS_SES"},
     "MailFromAttributes": null}
 }}
EOF_FIX
python3 "$SM_SRCDIR/tests/ses/ses_endpoint.py" --fixture "$W/fixture.json" --port-file "$W/run/ses.port" \
    > "$W/ses-endpoint.log" 2>&1 & TB_PIDS+=($!)
for _ in $(seq 100); do [ -s "$W/run/ses.port" ] && break; sleep 0.1; done
port=$(cat "$W/run/ses.port" 2>/dev/null) || { echo "SES endpoint did not start"; exit 1; }

creds() { # creds KEY SECRET - rewrite the file in place: it stays root's, mode 0600
    printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$1" "$2" > "$W/aws-credentials"
}
creds AKIDFIRST firstSecretDoNotLog
chown root:root "$W/aws-credentials"; chmod 600 "$W/aws-credentials"
mkdir -p "$W/plugins"
install -m 644 "$SM_BUILDDIR/plugins/ses/.libs/ses.so" "$W/plugins/"
export AWS_SHARED_CREDENTIALS_FILE=$W/aws-credentials AWS_CONFIG_FILE=$W/no-aws-config
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_SESV2
tb_milter_conf "$W/milter.conf" <<EOC
scope: { internal_networks = [ "127.0.0.0/8" ]; };
identity: {
  plugin_dir = "$W/plugins";
  sources = ( { name = "ses-us"; plugin = "ses"; region = "us-east-1";
                endpoint = "http://127.0.0.1:$port"; insecure_http = true;
                credentials_source = "file"; rate = 50; burst = 50; } );
  check_envelope_from = false;
};
EOC
tb_start_milter "$W/milter.conf" || exit 1
tb_start_postfix || exit 1

send() { tb_swaks --from bob@dkim.example --to bob@example.org --h-From bob@dkim.example --body "x"; }
out=$(send)
tb_check "first key (refused by SES): the message is tempfailed" grep -q '<\*\* 451 4' <<<"$out"
creds AKIDSECOND secondSecretDoNotLog
kill -HUP "$TB_MILTER_PID"
for _ in $(seq 100); do grep -qE 'reloaded|reload refused' "$W/milter.log" && break; sleep 0.05; done
tb_check "SIGHUP reloads although the credentials file is root's only" \
    grep -q 'configuration .* reloaded (version' "$W/milter.log"
tb_check "no reload was refused" bash -c "! grep -q 'reload refused' '$W/milter.log'"
out=$(send)
tb_check "second key, read at the reload: the message is queued" grep -q '250 2.0.0 Ok: queued' <<<"$out"
tb_check "the file stayed root's, mode 600" test "$(stat -c '%U %a' "$W/aws-credentials")" = "root 600"
tb_check "no secret in the milter's log" bash -c "! grep -q 'SecretDoNotLog' '$W/milter.log'"
tb_done
