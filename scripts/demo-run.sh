#!/bin/bash
# demo-run.sh - the demo itself (see demo.sh); needs SM_SRCDIR and SM_BUILDDIR
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"
mkdir -p "$W/plugins" "$W/audit" && chown nobody:nogroup "$W/audit"
install -m 644 "$SM_BUILDDIR/plugins/file/.libs/file.so" "$W/plugins/"
cat > "$W/identities" <<'EOI'
# identities verified with the relay (the embedded "file" source)
example.com
alice@partner.example
EOI
tb_milter_conf "$W/milter.conf" <<EOC
scope: { internal_networks = [ "127.0.0.0/8" ]; };
identity: {
  plugin_dir = "$W/plugins";
  sources = ( { name = "local"; plugin = "file"; path = "$W/identities"; } );
  overrides = ( { domain = "rollout.example"; action = "monitor"; } );
};
audit: { file = "$W/audit/audit.jsonl"; recipients = "plain"; };
EOC
sed -i 's/level = "debug"/level = "info"/' "$W/milter.conf"
echo "== ses-milter -n: the effective configuration (excerpt)"
"$SM_BUILDDIR/ses-milter" -n -c "$W/milter.conf" 2>&1 | grep -E '^(scope|identity\.(action|on_tempfail|sources)|# identity|audit\.(file|recipients))'
tb_start_milter "$W/milter.conf" || exit 1
tb_start_postfix || exit 1
echo
echo "== Postfix on 127.0.0.1:10025 -> ses-milter -> smtp-sink (the relay) on 127.0.0.1:10027"
send() { # send DESCRIPTION FROM - one message, and the server's final answer
    local out code
    out=$(tb_swaks --from "$2" --to bob@example.org --h-From "$2" --h-Subject "$1" --body "demo")
    code=$(grep -E '^<\*\* +[0-9]{3} ' <<<"$out" | tail -1 | sed 's/^<\*\* *//')
    [ -z "$code" ] && code=$(grep -E '^<- +250 .*queued' <<<"$out" | tail -1 | sed 's/^<- *//')
    printf '  %-32s From: %-34s -> %s\n' "$1" "$2" "$code"
}
send "verified domain"                 bob@example.com
send "subdomain of a verified domain"  news@mail.example.com
send "verified address, +label"        alice+invoices@partner.example
send "unverified domain"               eve@unverified.example
send "unverified, domain in monitor"   ops@rollout.example
sleep 1
echo
echo "== what ses-milter logged (one summary line per message, keyed by queue id)"
grep -E 'action=|identity gate' "$W/milter.log" | sed 's/^[^]]*\]: /  /'
echo
echo "== messages that reached the relay: $(tb_captured) of 5"
echo
echo "== audit trail: ses-milter-audit verify, then report"
"$SM_BUILDDIR/ses-milter-audit" verify "$W/audit/audit.jsonl" | sed 's/^/  /'
"$SM_BUILDDIR/ses-milter-audit" report "$W/audit/audit.jsonl" | sed 's/^/  /'
echo
echo "== one audit record:"
tail -1 "$W/audit/audit.jsonl" | python3 -m json.tool 2>/dev/null | head -40 | sed 's/^/  /'
tb_stop_milter
echo
echo "demo finished; everything ran in a private namespace and has been removed"
