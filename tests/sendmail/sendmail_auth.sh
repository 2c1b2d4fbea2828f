#!/bin/bash
# sendmail_auth.sh - end to end: SMTP AUTH through the real sendmail decides the scope
#
# swaks [AUTH CRAM-MD5 against a private sasldb] -> sendmail 127.0.0.1:25 [ses-milter]
# with no internal networks configured.  Proves: sendmail hands ses-milter {auth_authen};
# an authenticated client's mail is outgoing (scope=authenticated, the login in the audit
# record): unverified refused with 550 5.7.1, verified relayed; the same client without
# AUTH is not outgoing and passes untouched.
. "$SM_SRCDIR/tests/lib/testbed.sh"
. "$SM_SRCDIR/tests/lib/sendmail_bed.sh"
smb_require
command -v saslpasswd2 >/dev/null || { echo "SKIP: no saslpasswd2 (sasl2-bin)"; exit 77; }
tb_enter_ns "$@"

mkdir -p "$W/plugins" "$W/audit"; chown nobody:nogroup "$W/audit"
install -m 644 "$SM_BUILDDIR/plugins/file/.libs/file.so" "$W/plugins/"
printf 'example.com\n' > "$W/identities"
tb_milter_conf "$W/milter.conf" <<EOC
scope: { internal_networks = [ ]; local_submission = false; };
identity: {
  plugin_dir = "$W/plugins";
  sources = ( { name = "local"; plugin = "file"; path = "$W/identities"; } );
};
audit: { file = "$W/audit/audit.jsonl"; recipients = "plain"; };
EOC
sed -i 's/socket_group = "postfix"/socket_group = "root"/' "$W/milter.conf"
tb_start_milter "$W/milter.conf" || exit 1
smb_sasl_user alice secret || exit 1
smb_start_sendmail || exit 1

captured() { grep -l "X-Marker: $1\$" "$W"/capture/* 2>/dev/null | head -1; }
wait_captured() { for _ in $(seq 100); do [ -n "$(captured "$1")" ] && return 0; sleep 0.1; done; return 1; }
auth=(--auth CRAM-MD5 --auth-user alice@mx.testbed.example --auth-password secret)

# name | AUTH? | From | reply | relayed?
while IFS='|' read -r name a from reply relayed; do
    [ -n "$name" ] || continue
    args=(); [ "$a" = yes ] && args=("${auth[@]}")
    out=$(smb_swaks "${args[@]}" --from bob@example.com --to carol@example.org --h-From "$from" \
        --header "X-Marker: $name")
    tb_check "$name: $reply" grep -Eq "$reply" <<<"$out"
    if [ "$relayed" = yes ]; then
        tb_check "$name: relayed" wait_captured "$name"
    else
        tb_check "$name: not relayed" test -z "$(captured "$name")"
    fi
done <<'EOT'
authenticated, verified|yes|bob@example.com|^<-  250 2.0.0 .* Message accepted|yes
authenticated, unverified|yes|eve@unverified.example|^<\*\* 550 5.7.1 Sender identity <eve@unverified.example> is not verified for sending$|no
not authenticated, not internal: passes untouched|no|eve@unverified.example|^<-  250 2.0.0 .* Message accepted|yes
EOT
tb_check "sendmail sends {auth_authen}: scope=authenticated in the summary" \
    grep -q 'action=accept outcome=completed scope=authenticated from=<bob@example.com>' "$W/milter.log"
tb_check "the login is in the audit record" grep -q '"alice@mx.testbed.example"' "$W/audit/audit.jsonl"
tb_done
