#!/bin/bash
# unsubscribe_dkim.sh - end to end: List-Unsubscribe headers signed by a real opendkim
#
# swaks -> Postfix :10025 [ses-milter, then opendkim signing]
#       -> Postfix :10026 [opendkim verifying, adds Authentication-Results]
#       -> smtp-sink
# Proves: the captured message has exactly one List-Unsubscribe and one
# List-Unsubscribe-Post, the signature's h= covers both, the second opendkim
# verifies it (dkim=pass), a message that already has List-Unsubscribe is not
# given a second one, and a simulated RFC 8058 one-click POST to the URL is
# accepted by ses-milter-token check-post (and a tampered one refused).
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"

# DNS: example.com with the signing key (opendkim resolves through libunbound: not .test)
mkdir -p "$W/keys"
opendkim-genkey -b 2048 -d example.com -s sel -D "$W/keys" && chown opendkim: "$W/keys/sel.private"
tb_zone example.com "$W/dns/example.com.zone"
{ echo '@ IN TXT "v=spf1 -all"'; echo '_dmarc IN TXT "v=DMARC1; p=reject"'
  sed 's/;.*DKIM key.*$//' "$W/keys/sel.txt"; } >> "$W/dns/example.com.zone"
tb_start_nsd example.com "$W/dns/example.com.zone"
tb_run_nsd || exit 1

tb_start_opendkim sign s 8892 "Domain example.com" "Selector sel" "KeyFile $W/keys/sel.private" \
    "SubDomains yes" "Canonicalization relaxed/relaxed" "SignatureAlgorithm rsa-sha256" "InternalHosts 127.0.0.0/8" \
    "SignHeaders *,+List-Unsubscribe-Post" "OversignHeaders From,List-Unsubscribe,List-Unsubscribe-Post" || exit 1
tb_start_opendkim verify v 8891 "AuthservID mx.testbed.example" "AlwaysAddARHeader yes" || exit 1

"$SM_BUILDDIR/ses-milter-token" genkey "$W/unsub.key" >/dev/null || exit 1
tb_milter_conf "$W/milter.conf" <<EOC
scope: { internal_networks = [ "127.0.0.0/8" ]; };
unsubscribe: {
  token_key_file = "$W/unsub.key";
  rules = ( { name = "news"; senders = [ "news.example.com" ];
              url = "https://example.com/unsubscribe/%{token}"; multi_recipient = "skip"; } );
};
EOC
tb_start_milter "$W/milter.conf" || exit 1
TB_MASTER_EXTRA="127.0.0.1:10026 inet n - n - - smtpd
  -o smtpd_milters=inet:127.0.0.1:8891
  -o non_smtpd_milters=
  -o content_filter="
tb_start_postfix "smtpd_milters = unix:$W/run/milter.sock, inet:127.0.0.1:8892" \
    "content_filter = smtp:[127.0.0.1]:10026" || exit 1

body_of() { grep -l "X-Marker: $1\$" "$W"/capture/* 2>/dev/null | head -1; }
hcount() { awk 'BEGIN{IGNORECASE=1} /^$/{exit} tolower($0) ~ "^"tolower(n)":" {c++} END{print c+0}' n="$1" "$2"; }

out=$(tb_swaks --from list@news.example.com --to reader@example.org \
      --h-From "News <list@news.example.com>" --header "X-Marker: u1" --body "newsletter")
tb_check "newsletter queued" grep -q '250 2.0.0 Ok: queued' <<<"$out"
out=$(tb_swaks --from list@news.example.com --to reader@example.org \
      --h-From "News <list@news.example.com>" --header "X-Marker: u2" \
      --header "List-Unsubscribe: <https://app.example.com/u/123>" --body "has its own")
tb_wait_capture 2
f=$(body_of u1); g=$(body_of u2)
tb_check "captured the newsletter after both opendkims" test -n "$f"
tb_check "exactly one List-Unsubscribe" test "$(hcount List-Unsubscribe "$f")" = 1
tb_check "exactly one List-Unsubscribe-Post" test "$(hcount List-Unsubscribe-Post "$f")" = 1
tb_check "List-Unsubscribe-Post is the one-click value" grep -q '^List-Unsubscribe-Post: List-Unsubscribe=One-Click' "$f"
sig=$(awk '/^DKIM-Signature:/{p=1;print;next} p&&/^[ \t]/{print;next} {p=0}' "$f" | tr -d ' \t\r\n')
tb_check "the signature's h= covers List-Unsubscribe" grep -qi 'h=[^;]*list-unsubscribe[:;]' <<<"$sig"
tb_check "the signature's h= covers List-Unsubscribe-Post" grep -qi 'h=[^;]*list-unsubscribe-post' <<<"$sig"
tb_check "the second opendkim verifies it (dkim=pass)" grep -q 'dkim=pass' "$f"
tb_check "an existing List-Unsubscribe is kept, not duplicated" test "$(hcount List-Unsubscribe "$g")" = 1
tb_check "the existing one is the application's" grep -q '^List-Unsubscribe: <https://app.example.com/u/123>' "$g"

# RFC 8058: the receiver POSTs "List-Unsubscribe=One-Click" to the URL
url=$(sed -n 's/^List-Unsubscribe: <\(https:[^>]*\)>.*/\1/p' "$f" | head -1)
tb_check "one-click POST is accepted by ses-milter-token check-post" \
    "$SM_BUILDDIR/ses-milter-token" check-post -k "$W/unsub.key" "$url" "List-Unsubscribe=One-Click"
out=$("$SM_BUILDDIR/ses-milter-token" check-post -k "$W/unsub.key" "$url" "List-Unsubscribe=One-Click")
tb_check "the token names the recipient" grep -q 'reader@example.org' <<<"$out"
bad=$(sed 's/\(.\)$/X/' <<<"$url"); [ "$bad" = "$url" ] && bad="${url}X"
tb_check "a tampered token is refused" bash -c "! '$SM_BUILDDIR/ses-milter-token' check-post -k '$W/unsub.key' '$bad' 'List-Unsubscribe=One-Click' >/dev/null 2>&1"
tb_done
