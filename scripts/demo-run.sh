#!/bin/bash
# demo-run.sh - the demo itself (see demo.sh); needs SM_SRCDIR and SM_BUILDDIR
#
# The mail path, all on loopback in a private namespace:
#   swaks -> Postfix :10025 [ses-milter, then opendkim signing d=example.com]
#         -> Postfix :10026 [opendkim verifying: Authentication-Results]
#         -> smtp-sink :10027 (the relay; what it receives is kept)
# nsd serves the senders' DNS (DKIM key, SPF, DMARC).  ses-milter runs on the
# embedded "file" identity source; the sections show its four jobs.
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"
mkdir -p "$W/plugins" "$W/audit" "$W/keys" && chown nobody:nogroup "$W/audit"
install -m 644 "$SM_BUILDDIR/plugins/file/.libs/file.so" "$W/plugins/"
cat > "$W/identities" <<'EOI'
# identities verified with the relay (the embedded "file" source)
example.com
alice@partner.example
EOI

# DNS: example.com signs (key "sel") and authorises the egress address 192.0.2.25;
# partner.example publishes p=reject but neither signs nor authorises it
opendkim-genkey -b 2048 -d example.com -s sel -D "$W/keys" && chown opendkim: "$W/keys/sel.private"
tb_zone example.com "$W/dns/example.com.zone"
{ echo '@ IN TXT "v=spf1 ip4:192.0.2.25 -all"'; echo '_dmarc IN TXT "v=DMARC1; p=reject"'
  sed 's/;.*DKIM key.*$//' "$W/keys/sel.txt"; } >> "$W/dns/example.com.zone"
tb_zone example "$W/dns/example.zone"
{ echo 'partner IN TXT "v=spf1 -all"'; echo '_dmarc.partner IN TXT "v=DMARC1; p=reject"'; } >> "$W/dns/example.zone"
tb_start_nsd example.com "$W/dns/example.com.zone"
tb_start_nsd example "$W/dns/example.zone"
tb_run_nsd >/dev/null || exit 1
tb_start_opendkim sign s 8892 "Domain example.com" "Selector sel" "KeyFile $W/keys/sel.private" \
    "SubDomains yes" "Canonicalization relaxed/relaxed" "SignatureAlgorithm rsa-sha256" \
    "InternalHosts 127.0.0.0/8" "SignHeaders *,+List-Unsubscribe-Post" \
    "OversignHeaders From,List-Unsubscribe,List-Unsubscribe-Post" >/dev/null || exit 1
tb_start_opendkim verify v 8891 "AuthservID mx.demo.example" "AlwaysAddARHeader yes" >/dev/null || exit 1

"$SM_BUILDDIR/ses-milter-token" genkey "$W/unsub.key" >/dev/null || exit 1
tb_milter_conf "$W/milter.conf" <<EOC
scope: { internal_networks = [ "127.0.0.0/8" ]; };
identity: {
  plugin_dir = "$W/plugins";
  sources = ( { name = "local"; plugin = "file"; path = "$W/identities"; } );
  overrides = ( { domain = "rollout.example"; action = "monitor"; } );
};
alignment: {
  relay = "direct"; egress_ips = [ "192.0.2.25" ];
  downstream_signer = { domain = "example.com"; selector = "sel"; };
};
unsubscribe: {
  token_key_file = "$W/unsub.key";
  opendkim_conf = "$W/opendkim-sign.conf";
  rules = ( { name = "news"; senders = [ "news.example.com" ];
              url = "https://example.com/unsubscribe/%{token}"; multi_recipient = "skip"; } );
};
audit: { file = "$W/audit/audit.jsonl"; recipients = "plain"; };
EOC
sed -i 's/level = "debug"/level = "info"/' "$W/milter.conf"
echo "== ses-milter -n: the configuration is valid (excerpt of the effective settings)"
"$SM_BUILDDIR/ses-milter" -n -c "$W/milter.conf" 2>&1 |
    grep -E '^(identity\.(action|sources)|alignment\.(relay|egress_ips|downstream)|unsubscribe\.rules\.\[0\]\.(name|senders|url)|audit\.file )|warning' |
    sed 's/^/  /'
tb_start_milter "$W/milter.conf" || exit 1
TB_MASTER_EXTRA="127.0.0.1:10026 inet n - n - - smtpd
  -o smtpd_milters=inet:127.0.0.1:8891
  -o non_smtpd_milters=
  -o content_filter="
tb_start_postfix "smtpd_milters = unix:$W/run/milter.sock, inet:127.0.0.1:8892" \
    "content_filter = smtp:[127.0.0.1]:10026" || exit 1

send() { # send DESCRIPTION FROM [swaks args] - one message; prints the server's final answer
    local what=$1 from=$2 out code; shift 2
    out=$(tb_swaks --from "$from" --to bob@example.org --h-From "$from" --h-Subject "$what" \
          --header "X-Demo: $what" --body "demo" "$@")
    code=$(grep -E '^<\*\* +[0-9]{3} ' <<<"$out" | tail -1 | sed 's/^<\*\* *//')
    [ -z "$code" ] && code=$(grep -E '^<- +250 .*queued' <<<"$out" | tail -1 | sed 's/^<- *//')
    printf '  %-31s %-31s -> %s\n' "$what" "$from" "$code"
}
echo
echo "== 1. identity gate: only verified senders (file source: example.com, alice@partner.example)"
echo "  Postfix 127.0.0.1:10025 -> ses-milter -> opendkim -> relay; one line per message, its reply:"
send "verified domain"                bob@example.com
send "subdomain of a verified domain" news@mail.example.com
send "verified address, +label"       alice+invoices@partner.example
send "unverified domain"              eve@unverified.example
send "unverified, domain in monitor"  ops@rollout.example

echo
echo "== 2. alignment: what the receiver's DMARC check will say, before the mail leaves"
echo "  (opendkim downstream signs d=example.com; the relay sends from 192.0.2.25)"
python3 - "$W/audit/audit.jsonl" <<'EOP'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    d = r.get("dmarc") or {}
    if r.get("action") == "reject" or not d:
        continue
    how = [k for k, v in (("DKIM", d.get("aligned_dkim")), ("SPF", d.get("aligned_spf"))) if v]
    print("  %-31s DMARC %s%s" % (r["from"], d.get("result"),
          " via aligned " + " and ".join(how) if how else
          " (p=%s at the receiver)" % d.get("p") if d.get("p") else ""))
    for a in (d.get("advice") or []) if d.get("result") != "pass" else []:
        print("      advice: " + a)
EOP

echo
echo "== 3. one-click unsubscribe: a newsletter from list@news.example.com (rule \"news\")"
send "newsletter" list@news.example.com
# wait for this message itself (it goes through the signing hop; a count of captured
# messages could be reached by an earlier one still on its way)
f=
for _ in $(seq 200); do
    f=$(grep -l '^X-Demo: newsletter' "$W"/capture/* 2>/dev/null | head -1)
    [ -n "$f" ] && break
    sleep 0.1
done
if [ -n "$f" ]; then
    hdr() { awk -v n="$1" 'BEGIN{IGNORECASE=1} /^\r?$/{exit} p&&/^[ \t]/{v=v $0; next}
        {if (p) exit; p=0} tolower($0) ~ "^"tolower(n)":" {p=1; v=$0} END{print v}' "$f" | tr -d '\r'; }
    echo "  as the relay received it:"
    hdr List-Unsubscribe | cut -c1-110 | sed 's/^/    /;s/\(.\{106\}\).*/\1 .../'
    hdr List-Unsubscribe-Post | sed 's/^/    /'
    sig=$(hdr DKIM-Signature | tr -d ' \t')
    h=$(sed -n 's/.*;h=\([^;]*\).*/\1/p' <<<"$sig")
    d=$(sed -n 's/.*;d=\([^;]*\).*/\1/p' <<<"$sig")
    echo "    DKIM-Signature: d=$d; h=$h"
    covers=no
    grep -qi '\(^\|:\)list-unsubscribe\(:\|$\)' <<<"$h" && grep -qi 'list-unsubscribe-post' <<<"$h" && covers=yes
    echo "    the signature covers List-Unsubscribe and List-Unsubscribe-Post: $covers"
    ar=$(hdr Authentication-Results | tr -s ' \t' ' ')
    echo "    Authentication-Results (the verifying opendkim): $(grep -o 'dkim=[a-z]*' <<<"$ar") $(grep -o 'header\.d=[^ ;]*' <<<"$ar") $(grep -o 'header\.s=[^ ;]*' <<<"$ar")"
    url=$(sed -n 's/^List-Unsubscribe: <\(https:[^>]*\)>.*/\1/p' "$f" | head -1)
    echo "  the receiver's one-click POST to that URL, checked by ses-milter-token check-post:"
    "$SM_BUILDDIR/ses-milter-token" check-post -k "$W/unsub.key" "$url" "List-Unsubscribe=One-Click" 2>&1 |
        head -3 | sed 's/^/    /'
else
    echo "  (the newsletter did not reach the relay)"
fi

tb_stop_milter
echo
echo "== 4. audit trail: $(wc -l < "$W/audit/audit.jsonl") records, one per message, hash-chained"
echo "  \$ ses-milter-audit verify audit.jsonl"
"$SM_BUILDDIR/ses-milter-audit" verify "$W/audit/audit.jsonl" 2>&1 | sed 's/^/    /'
echo "  \$ ses-milter-audit report audit.jsonl   (the per-From-domain table left out here)"
"$SM_BUILDDIR/ses-milter-audit" report "$W/audit/audit.jsonl" 2>&1 |
    awk '/^by From domain/{skip=1} skip&&/^$/{skip=0; next} !skip' | sed 's/^/    /'
echo
echo "== the log: one summary line per message, keyed by the Postfix queue id (two of them)"
grep -E ': action=(accept|reject) ' "$W/milter.log" | sed 's/^[^]]*\]: /  /' | grep -m1 'action=accept'
grep -E ': action=reject ' "$W/milter.log" | sed 's/^[^]]*\]: /  /' | head -1
tb_wait_capture 5 || true
echo
echo "$(tb_captured) of 6 messages reached the relay (the refused one did not); everything ran"
echo "in a private namespace and is removed now"
# the demo fails when a job did not show: the gate, the signed headers, the audit chain
[ "$(tb_captured)" = 5 ] && [ "${covers:-no}" = yes ] && grep -q 'dkim=pass' <<<"${ar:-}" &&
    "$SM_BUILDDIR/ses-milter-audit" verify "$W/audit/audit.jsonl" >/dev/null 2>&1
