#!/bin/bash
# account_ses_postfix.sh - end to end: Postfix + ses-milter + the SES plugin's account state
# (GetAccount from the test SES endpoint, every signature checked with botocore)
#
# Proves, with the replies the SMTP client sees:
#   sandbox     -> an unverified recipient is refused at RCPT with 550 5.7.1 naming the
#                  region and the sandbox; the verified recipient of the same message gets it
#   probation   -> bulk mail (an unsubscribe rule matches) 451 4.7.1, transactional queued
#   shutdown    -> everything 550 5.7.1
#   disabled    -> everything 451 4.7.1
#   rate burst  -> 20 messages over MaxSendRate 2/s: the ones over it get 451 4.7.1, the
#                  client retries them, and all 20 reach the relay (nothing lost); the SES
#                  API calls per minute during the burst are printed
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"
python3 -c 'import botocore' 2>/dev/null || { echo "SKIP: python3 botocore missing"; exit 77; }

cat > "$W/fixture.json" <<'EOF_FIX'
{"region": "us-east-1", "temp_ttl": 900,
 "credentials": [{"access_key_id": "AKIDE2ETEST", "secret_access_key": "e2eSecretKeyDoNotLog"}],
 "account_variant": "sandbox",
 "identities": {
  "example.com": {"IdentityType": "DOMAIN", "VerifiedForSendingStatus": true, "VerificationStatus": "SUCCESS"},
  "friend@example.org": {"IdentityType": "EMAIL_ADDRESS", "VerifiedForSendingStatus": true,
     "VerificationStatus": "SUCCESS"}
 }}
EOF_FIX
python3 "$SM_SRCDIR/tests/ses/ses_endpoint.py" --fixture "$W/fixture.json" --port-file "$W/run/ses.port" \
    > "$W/ses-endpoint.log" 2>&1 & TB_PIDS+=($!)
for _ in $(seq 100); do [ -s "$W/run/ses.port" ] && break; sleep 0.1; done
port=$(cat "$W/run/ses.port" 2>/dev/null) || { echo "SES endpoint did not start"; exit 1; }
ses_ctl() { curl -s -o /dev/null -X POST "http://127.0.0.1:$port/$1"; }
api_calls() { # every SES API request the endpoint counted
    curl -s "http://127.0.0.1:$port/__stats" | python3 -c 'import json,sys; print(sum(json.load(sys.stdin)["counts"].values()))'
}

mkdir -p "$W/plugins"
install -m 644 "$SM_BUILDDIR/plugins/ses/.libs/ses.so" "$W/plugins/"
"$SM_BUILDDIR/ses-milter-token" genkey "$W/unsub.key" >/dev/null
export AWS_ACCESS_KEY_ID=AKIDE2ETEST AWS_SECRET_ACCESS_KEY=e2eSecretKeyDoNotLog
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_SESV2
tb_milter_conf "$W/milter.conf" <<EOC
scope: { internal_networks = [ "127.0.0.0/8" ]; };
identity: {
  plugin_dir = "$W/plugins";
  sources = ( { name = "ses-us"; plugin = "ses"; region = "us-east-1";
                endpoint = "http://127.0.0.1:$port"; insecure_http = true;
                credentials_source = "env"; rate = 1; burst = 1; account_interval = 5; } );
  check_envelope_from = false;
};
unsubscribe: {
  token_key_file = "$W/unsub.key";
  rules = ( { name = "news"; senders = [ "news.example.com" ];
              url = "https://example.com/u/%{token}"; multi_recipient = "skip"; } );
};
EOC
tb_start_milter "$W/milter.conf" || exit 1
tb_start_postfix || exit 1

wait_log() { # wait_log TEXT - the milter logged TEXT (bounded)
    for _ in $(seq 150); do grep -qF "$1" "$W/milter.log" && return 0; sleep 0.1; done
    return 1
}
account() { # account VARIANT LOGTEXT - switch the endpoint's GetAccount and wait for the change
    ses_ctl "__mode?account=$1"; wait_log "$2"
}
send() { # send FROM TO MARKER
    tb_swaks --from "$1" --to "$2" --h-From "$1" --header "X-Marker: $3" --body "marker $3"
}
captured() { grep -l "X-Marker: $1\$" "$W"/capture/* 2>/dev/null | head -1; }

tb_check "sandbox: logged at start" wait_log "SES account in us-east-1 in the SES sandbox"
out=$(send a@example.com stranger@example.org m-sbx1)
tb_check "sandbox: unverified recipient refused at RCPT: 550 5.7.1 ... SES sandbox" \
    grep -q '<\*\* 550 5.7.1 Recipient <stranger@example.org> is not a verified identity: the sending account in region us-east-1 is in the SES sandbox' <<<"$out"
out=$(send a@example.com friend@example.org,stranger@example.org m-sbx2)
tb_check "sandbox: the verified recipient of the same message is accepted, the message queued" \
    grep -q '250 2.0.0 Ok: queued' <<<"$out"
tb_wait_capture 1
qid=$(grep -o 'Ok: queued as [0-9A-F]*' <<<"$out" | awk '{print $4}')
for _ in $(seq 50); do grep -q "$qid: to=<friend@example.org>.*status=sent" "$W/pf/maillog" && break; sleep 0.1; done
tb_check "sandbox: the message reaches the relay for the verified recipient only" \
    bash -c "grep -q '$qid: to=<friend@example.org>.*status=sent' '$W/pf/maillog' && ! grep -q '$qid: to=<stranger@example.org>' '$W/pf/maillog' && test -n '$(captured m-sbx2)'"

tb_check "probation: the change is logged" account probation "SES account in us-east-1 now under SES PROBATION"
out=$(send a@news.example.com x@example.org m-prob-bulk)
tb_check "probation: bulk mail 451 4.7.1 naming the region" \
    grep -q '<\*\* 451 4.7.1 The sending account in region us-east-1 is under SES PROBATION: bulk mail deferred' <<<"$out"
out=$(send a@example.com x@example.org m-prob-trans)
tb_check "probation: transactional mail queued" grep -q '250 2.0.0 Ok: queued' <<<"$out"

tb_check "shutdown: the change is logged" account shutdown "now SHUT DOWN by SES"
out=$(send a@example.com x@example.org m-shut)
tb_check "shutdown: transactional mail 550 5.7.1" \
    grep -q '<\*\* 550 5.7.1 The sending account in region us-east-1 is SHUT DOWN by SES' <<<"$out"
out=$(send a@news.example.com x@example.org m-shut-bulk)
tb_check "shutdown: bulk mail 550 5.7.1" grep -q '<\*\* 550 5.7.1' <<<"$out"

tb_check "sending disabled: the change is logged" account disabled "now disabled for sending in SES"
out=$(send a@example.com x@example.org m-dis)
tb_check "sending disabled: 451 4.7.1" \
    grep -q '<\*\* 451 4.7.1 The sending account in region us-east-1 is disabled for sending in SES' <<<"$out"

tb_check "quota: MaxSendRate 2/s read" account "quota:100000,2,0" "2 per second"
before=$(tb_captured); calls0=$(api_calls); t0=$(date +%s.%N)
pending=$(seq 1 20); tempfails=0; rounds=0
while [ -n "$pending" ] && [ $rounds -lt 40 ]; do
    rounds=$((rounds + 1)); again=""
    for i in $pending; do
        out=$(send a@example.com x@example.org "m-burst-$i")
        if grep -q '250 2.0.0 Ok: queued' <<<"$out"; then continue; fi
        if grep -q '<\*\* 451 4.7.1 Sending rate of the account in region us-east-1 reached' <<<"$out"; then
            tempfails=$((tempfails + 1)); again="$again $i"
        else
            echo "# m-burst-$i: neither queued nor the rate's 451:"; sed 's/^/#   /' <<<"$out" | tail -5
        fi
    done
    pending=$again
    [ -n "$pending" ] && sleep 0.5
done
t1=$(date +%s.%N); calls1=$(api_calls)
python3 -c "import sys; d=$t1-$t0; c=$calls1-$calls0; print('# burst: 20 messages, %d tempfails (451 4.7.1), %d rounds, %.1f s; SES API calls %d = %.1f per minute' % ($tempfails, $rounds, d, c, c*60/d))"
tb_check "quota: the burst crossed the rate (451 4.7.1 counted: $tempfails)" test "$tempfails" -ge 1
tb_check "quota: every message was queued in the end (none left: '$pending')" test -z "$pending"
tb_wait_capture $((before + 20))
for i in $(seq 1 20); do [ -n "$(captured "m-burst-$i")" ] || missing="$missing $i"; done
tb_check "quota: all 20 reach the relay, nothing lost (missing:${missing:-none})" test -z "${missing:-}"
tb_check "refused mail never reaches the relay" \
    test -z "$(captured m-sbx1)$(captured m-prob-bulk)$(captured m-shut)$(captured m-shut-bulk)$(captured m-dis)"
tb_done
