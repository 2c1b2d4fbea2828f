#!/bin/bash
# ses_endpoint_faults_never_refuse.sh - the SES endpoint throttles, fails, hangs, or is not trusted
#
# ses-milter's identity source is the SES plugin against tests/ses/ses_endpoint.py,
# alignment enforcing (nsd serves p=reject; the sender's domain has Easy DKIM),
# identities cached for 1 s only so that lookups hit the fault.  For each of
# throttling (429), 5xx (500), hanging (no answer) and a TLS endpoint whose
# certificate the milter must not trust: a source that cannot answer never
# becomes a permanent refusal (refused = 0) nor unchecked mail; every accepted
# message is relayed and checked; the faulty endpoint really was asked; once it
# recovers (or is trusted) the next message is served.  Short: 40 messages per
# fault; soak (SM_FAULT_SOAK=1): 1000.
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"
. "$SM_SRCDIR/tests/faults/lib.sh"
python3 -c 'import botocore' 2>/dev/null || { echo "SKIP: python3 botocore missing"; exit 77; }
if [ "$FL_SOAK" = 1 ]; then N=1000; else N=40; fi

tb_zone faults.example "$W/dns/faults.example.zone"
{ echo '@ IN TXT "v=spf1 include:amazonses.com -all"'; echo '_dmarc IN TXT "v=DMARC1; p=reject"'; } \
    >> "$W/dns/faults.example.zone"
tb_start_nsd faults.example "$W/dns/faults.example.zone"
tb_run_nsd || exit 1

cat > "$W/fixture.json" <<'EOF_FIX'
{"region": "us-east-1", "silent_s": 3,
 "credentials": [{"access_key_id": "AKIDFAULTS", "secret_access_key": "faultsSecretKey"}],
 "account": {"ProductionAccessEnabled": true, "SendingEnabled": true, "EnforcementStatus": "HEALTHY"},
 "identities": {
  "faults.example": {"IdentityType": "DOMAIN", "VerifiedForSendingStatus": true, "VerificationStatus": "SUCCESS",
     "DkimAttributes": {"SigningEnabled": true, "Status": "SUCCESS", "SigningAttributesOrigin": "AWS_SES"},
     "MailFromAttributes": null}}}
EOF_FIX
# ses_start NAME [--tls-cert C --tls-key K] - an endpoint; its port in $W/run/NAME.port
ses_start() {
    local name=$1; shift
    python3 "$SM_SRCDIR/tests/ses/ses_endpoint.py" --fixture "$W/fixture.json" \
        --port-file "$W/run/$name.port" "$@" > "$W/$name.log" 2>&1 & TB_PIDS+=($!)
    for _ in $(seq 100); do [ -s "$W/run/$name.port" ] && return 0; sleep 0.1; done
    echo "SES endpoint $name did not start"; return 1
}
ctl() { # ctl SCHEME PORT PATH - the endpoint's control API
    python3 -c 'import ssl,sys,urllib.request as u
c=ssl._create_unverified_context()
print(u.urlopen(u.Request(sys.argv[1], method="POST" if "mode" in sys.argv[1] else "GET"), context=c).read().decode())' \
        "$1://127.0.0.1:$2$3"
}
count() { # count SCHEME PORT API
    ctl "$1" "$2" /__stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["counts"].get(sys.argv[1], 0))' "$3"
}
conf() { # conf ENDPOINT [ca_file]
    fl_milter_conf "$W/milter.conf" <<EOC
scope: { internal_networks = [ "127.0.0.0/8" ]; };
identity: { plugin_dir = "$W/plugins"; check_envelope_from = false; lookup_timeout_ms = 1500;
  sources = ( { name = "ses-us"; plugin = "ses"; region = "us-east-1"; endpoint = "$1";
                ${2:+ca_file = \"$2\";} insecure_http = true; credentials_source = "env";
                timeout_ms = 1000; connect_timeout_ms = 500; rate = 1000; burst = 1000;
                warmup_interval = 1; } );
  cache: { positive_ttl = 1; negative_ttl = 1; stale_max = 3600; }; };
alignment: { relay = "ses"; action = "enforce"; temperror_action = "tempfail"; };
audit: { file = "$W/audit/audit.jsonl"; recipients = "plain"; fsync = "never"; };
EOC
}
export AWS_ACCESS_KEY_ID=AKIDFAULTS AWS_SECRET_ACCESS_KEY=faultsSecretKey
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_SESV2

ses_start http || exit 1
hport=$(cat "$W/run/http.port")
conf "http://127.0.0.1:$hport"
fl_start "$W/milter.conf" || exit 1
tb_start_postfix || exit 1
fl_probe "before the faults" || exit 1

# mode:stats-counter-that-proves-the-fault-was-hit.  Each fault on a fresh daemon (a
# throttled plugin backs off, which would hide the next fault), warmed first: both
# senders answered once while SES is fine (identity and DKIM details cached).  The
# fault then starts right after a warm-up refresh (ListEmailIdentities) and the mail
# comes in two halves: "fresh" at once (identities fresh from the refresh, details
# from the first answers) and "stale" once the 1 s TTL has passed (expired answers,
# within stale_max).  Both halves must be served: a source that cannot answer is
# never a refusal, and what it answered before still serves.
warm_count() { count http "$hport" ListEmailIdentities; }
for m in 429:Throttled 500:ServerError silent:Silent; do
    mode=${m%%:*} api=${m#*:}
    tb_stop_milter
    fl_start "$W/milter.conf" || exit 1
    fl_probe "ses-$mode: warm a@" a@faults.example
    fl_probe "ses-$mode: warm b@" b@faults.example
    w=$(warm_count)
    for _ in $(seq 50); do [ "$(warm_count)" -gt "$w" ] && break; sleep 0.1; done
    ctl http "$hport" "/__mode?ses=$mode" >/dev/null
    for half in fresh stale; do
        [ "$half" = stale ] && sleep 1.1 # the cached answers expire: stale_max serves them
        fl_client "ses$mode$half" $((N / 2)) 4 --from a@faults.example --from b@faults.example
        fl_client_wait
    done
    ctl http "$hport" "/__mode?ses=ok" >/dev/null
    fl_drain
    hits=$(count http "$hport" "$api")
    tb_check "ses-$mode: the endpoint's fault was met ($api = $hits)" test "$hits" -gt 0
    for half in fresh stale; do
        fl_tally "ses-$mode-$half" "ses$mode$half" --audit "$W/audit/audit.jsonl" || exit 1
        fl_assert_books "ses-$mode-$half"
        tb_check "ses-$mode-$half: a source that cannot answer never refuses a verified sender (refused = $FL_refused)" \
            test "$FL_refused" = 0
        tb_check "ses-$mode-$half: no session dropped (the milter answers within its deadline)" test "$FL_dropped" = 0
        tb_check "ses-$mode-$half: senders SES answered before are served: accepted $FL_accepted of $((N / 2))" \
            test "$FL_accepted" = $((N / 2))
    done
    if [ "$mode" = 429 ]; then # the plugin backs off after throttling, by design
        fl_probe_until "ses-$mode: endpoint recovered, after the plugin's back-off" 20
    else
        fl_probe "ses-$mode: endpoint recovered"
    fi
    ctl http "$hport" /__reset >/dev/null
done

# TLS: an endpoint with a self-signed certificate; the milter trusts another CA only
for n in good other; do
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
        -addext "subjectAltName=IP:127.0.0.1" -keyout "$W/$n.key" -out "$W/$n.crt" >/dev/null 2>&1 || exit 1
done
chmod 644 "$W"/*.crt
ses_start tls --tls-cert "$W/good.crt" --tls-key "$W/good.key" || exit 1
tport=$(cat "$W/run/tls.port")
tb_stop_milter
conf "https://127.0.0.1:$tport" "$W/other.crt"
fl_start "$W/milter.conf" || exit 1
fl_client sestls "$N" 4 --from a@faults.example --from b@faults.example
fl_client_wait
fl_drain
fl_tally ses-tls sestls --audit "$W/audit/audit.jsonl" || exit 1
fl_assert_books ses-tls
tb_check "ses-tls: no request got past the untrusted certificate (GetEmailIdentity = 0)" \
    test "$(count https "$tport" GetEmailIdentity)" = 0 -a "$(count https "$tport" ListEmailIdentities)" = 0
tb_check "ses-tls: an untrusted endpoint verifies nobody: all $N tempfailed (accepted $FL_accepted, refused $FL_refused)" \
    test "$FL_tempfailed" = "$N"
tb_check "ses-tls: the TLS failure is logged as such" grep -Eqi 'certificate|SSL|TLS' "$W/milter.log"
tb_stop_milter
conf "https://127.0.0.1:$tport" "$W/good.crt"
fl_start "$W/milter.conf" || exit 1
fl_probe "ses-tls: the same endpoint, trusted"
tb_check "no secret in the milter's log" bash -c "! grep -q faultsSecretKey '$W/milter.log'"
tb_done
