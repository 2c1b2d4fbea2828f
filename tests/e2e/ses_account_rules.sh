#!/bin/bash
# ses_account_rules.sh - end to end through Postfix: the SES plugin against the test SES
# endpoint (every SigV4 signature checked with botocore) for the SES account rules:
#   suppression list: a suppressed recipient is refused at RCPT with 550 5.1.1 naming the
#     reason and the region, the others of the same message are delivered
#   X-SES-* header rules: configuration set, message tags and tenant added to the message
#   tenants: a sender identity that is not the tenant's is refused with 550 5.7.1, whether
#     a rule added the tenant or the message brought its own X-SES-TENANT
#   sending authorization: the identity is resolved in the owning account's region only,
#     ARN headers added; a refusal names the region
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"
python3 -c 'import botocore' 2>/dev/null || { echo "SKIP: python3 botocore missing"; exit 77; }

cat > "$W/fixture.json" <<'EOF_FIX'
{"region": "us-east-1", "regions": ["us-east-1", "us-west-2"], "suppression_page": 1,
 "credentials": [
  {"access_key_id": "AKIDE2ETEST", "secret_access_key": "e2eSecretKeyDoNotLog", "account": "123456789012"},
  {"access_key_id": "AKIDE2EPARTNER", "secret_access_key": "e2ePartnerSecretDoNotLog", "account": "111122223333"}],
 "account": {"ProductionAccessEnabled": true, "SendingEnabled": true, "EnforcementStatus": "HEALTHY"},
 "accounts": {
  "123456789012": {"regions": {"us-east-1": {"identities": {
     "example.com": {"IdentityType": "DOMAIN", "VerifiedForSendingStatus": true, "VerificationStatus": "SUCCESS"}}}}},
  "111122223333": {"regions": {"us-west-2": {"identities": {
     "partner.example": {"IdentityType": "DOMAIN", "VerifiedForSendingStatus": true, "VerificationStatus": "SUCCESS"}}}}}},
 "suppressed": {"bounced@example.org": {"Reason": "BOUNCE"}, "complained@example.org": {"Reason": "COMPLAINT"}},
 "tenants": {"tenant-news": ["arn:aws:ses:us-east-1:123456789012:identity/example.com"],
             "tenant-other": ["arn:aws:ses:us-east-1:123456789012:identity/other.example"]}}
EOF_FIX
python3 "$SM_SRCDIR/tests/ses/ses_endpoint.py" --fixture "$W/fixture.json" --port-file "$W/run/ses.port" \
    > "$W/ses-endpoint.log" 2>&1 & TB_PIDS+=($!)
for _ in $(seq 100); do [ -s "$W/run/ses.port" ] && break; sleep 0.1; done
port=$(cat "$W/run/ses.port" 2>/dev/null) || { echo "SES endpoint did not start"; exit 1; }

mkdir -p "$W/plugins" "$W/aws"
install -m 644 "$SM_BUILDDIR/plugins/ses/.libs/ses.so" "$W/plugins/"
printf '[partner]\naws_access_key_id = AKIDE2EPARTNER\naws_secret_access_key = e2ePartnerSecretDoNotLog\n' \
    > "$W/aws/credentials"
chmod 600 "$W/aws/credentials"
export AWS_ACCESS_KEY_ID=AKIDE2ETEST AWS_SECRET_ACCESS_KEY=e2eSecretKeyDoNotLog
export AWS_SHARED_CREDENTIALS_FILE="$W/aws/credentials"
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_SESV2
arn=arn:aws:ses:us-west-2:111122223333:identity/partner.example
tb_milter_conf "$W/milter.conf" <<EOC
scope: { internal_networks = [ "127.0.0.0/8" ]; };
identity: {
  plugin_dir = "$W/plugins";
  sources = (
    { name = "ses-us"; plugin = "ses"; region = "us-east-1"; endpoint = "http://127.0.0.1:$port";
      insecure_http = true; credentials_source = "env"; rate = 50; burst = 50;
      warmup_interval = 0; suppression = true; suppression_warmup_interval = 3600; tenants = true; },
    { name = "ses-partner"; plugin = "ses"; region = "us-west-2"; endpoint = "http://127.0.0.1:$port";
      insecure_http = true; credentials_source = "file"; profile = "partner"; rate = 50; burst = 50;
      warmup_interval = 0; } );
  check_envelope_from = false;
};
ses: {
  suppression: { action = "refuse"; };
  rules = (
    { name = "news"; senders = [ "news@example.com" ]; configuration_set = "newsletters";
      tags = "stream=news,campaign=spring"; tenant = "tenant-news"; },
    { name = "alerts"; senders = [ "alerts@example.com" ]; tenant = "tenant-other"; },
    { name = "partner"; senders = [ "partner.example" ]; identity_source = "ses-partner";
      source_arn = "$arn"; from_arn = "$arn"; return_path_arn = "$arn"; }
  );
};
EOC
tb_start_milter "$W/milter.conf" || exit 1
tb_start_postfix || exit 1
stats() { python3 -c "import json,urllib.request; c=json.load(urllib.request.urlopen('http://127.0.0.1:$port/__stats'))['counts']; print(c.get('$1',0))"; }
for _ in $(seq 100); do grep -q 'suppression warm-up: 2 addresses' "$W/milter.log" && break; sleep 0.1; done
tb_check "suppression warm-up: 2 addresses in 2 pages of ListSuppressedDestinations" \
    grep -q 'suppression warm-up: 2 addresses from ListSuppressedDestinations (2 page(s))' "$W/milter.log"
captured() { grep -l "X-Marker: $1\$" "$W"/capture/* 2>/dev/null | head -1; }

out=$(tb_swaks --from news@example.com --h-From news@example.com --header "X-Marker: news" \
      --to ok@example.org,bounced@example.org,complained@example.org --body x)
tb_check "suppressed BOUNCE recipient: 550 5.1.1 naming reason and region" \
    grep -q '<\*\* 550 5.1.1 <bounced@example.org> is on the SES account suppression list (BOUNCE) in region us-east-1' <<<"$out"
tb_check "suppressed COMPLAINT recipient: 550 5.1.1" \
    grep -q '<\*\* 550 5.1.1 <complained@example.org> is on the SES account suppression list (COMPLAINT)' <<<"$out"
tb_check "the other recipient's message is queued" grep -q '250 2.0.0 Ok: queued' <<<"$out"
tb_wait_capture 1
m=$(captured news)
tb_check "X-SES-CONFIGURATION-SET added" grep -q '^X-SES-CONFIGURATION-SET: newsletters$' "$m"
tb_check "X-SES-MESSAGE-TAGS added" grep -q '^X-SES-MESSAGE-TAGS: stream=news,campaign=spring$' "$m"
tb_check "X-SES-TENANT added (example.com is a resource of tenant-news)" grep -q '^X-SES-TENANT: tenant-news$' "$m"
tb_check "no per-recipient GetSuppressedDestination after the complete walk" test "$(stats GetSuppressedDestination)" = 0

out=$(tb_swaks --from alerts@example.com --h-From alerts@example.com --to ok@example.org --body x)
tb_check "identity not the tenant's: 550 5.7.1 naming identity, tenant and region" \
    grep -q '<\*\* 550 5.7.1 Sender identity <example.com> is not associated with SES tenant tenant-other in region us-east-1' <<<"$out"

out=$(tb_swaks --from a@example.com --h-From a@example.com --header "X-SES-TENANT: tenant-other" \
      --to ok@example.org --body x)
tb_check "the message's own X-SES-TENANT, identity not the tenant's: 550 5.7.1 saying so" \
    grep -q "<\*\* 550 5.7.1 Sender identity <example.com> is not associated with SES tenant tenant-other (the message's X-SES-TENANT header) in region us-east-1" <<<"$out"
out=$(tb_swaks --from a@example.com --h-From a@example.com --header "X-SES-TENANT: tenant-news" \
      --header "X-Marker: owntenant" --to ok@example.org --body x)
tb_check "the message's own X-SES-TENANT, identity the tenant's: queued" grep -q '250 2.0.0 Ok: queued' <<<"$out"
tb_wait_capture 2
tb_check "and its X-SES-TENANT goes on unchanged" grep -q '^X-SES-TENANT: tenant-news$' "$(captured owntenant)"

main0=$(stats GetEmailIdentity:123456789012:us-east-1)
out=$(tb_swaks --from alice@partner.example --h-From alice@partner.example --header "X-Marker: partner" \
      --to ok@example.org --body x)
tb_check "sending authorization: partner identity verified in its own account, queued" grep -q '250 2.0.0 Ok: queued' <<<"$out"
tb_wait_capture 3
m=$(captured partner)
tb_check "X-SES-SOURCE-ARN, X-SES-FROM-ARN, X-SES-RETURN-PATH-ARN added" \
    test "$(grep -c "^X-SES-\(SOURCE\|FROM\|RETURN-PATH\)-ARN: $arn\$" "$m")" = 3
tb_check "the partner identity was asked in 111122223333/us-west-2" test "$(stats GetEmailIdentity:111122223333:us-west-2)" -ge 1
tb_check "and not in the main account" test "$(stats GetEmailIdentity:123456789012:us-east-1)" = "$main0"

out=$(tb_swaks --from eve@unverified.example --h-From eve@unverified.example --to ok@example.org --body x)
tb_check "unverified sender: the reply names the region that refused" \
    grep -q '<\*\* 550 5.7.1 Sender identity <eve@unverified.example> is not verified for sending in SES region us-east-1' <<<"$out"
tb_check "the endpoint saw only correctly signed requests" bash -c "! grep -q SignatureDoesNotMatch '$W/ses-endpoint.log'"
tb_check "no secret in the milter's log" bash -c "! grep -q 'e2eSecretKeyDoNotLog\|e2ePartnerSecretDoNotLog' '$W/milter.log'"
tb_done
