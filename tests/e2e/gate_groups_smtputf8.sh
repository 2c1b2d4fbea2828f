#!/bin/bash
# gate_groups_smtputf8.sh - end to end: groups in From and non-ASCII identities in the
# replies a real Postfix client sees
#
# Proves: Postfix hands the MAIL FROM parameters to ses-milter, so a client that said
# SMTPUTF8 reads a refused non-ASCII local part in UTF-8 and any other client reads it
# as \u{N} escapes (never "??"); a From group of verified mailboxes is delivered, a
# group with an unverified member or no mailbox is refused with its own text.
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"

mkdir -p "$W/plugins"
install -m 644 "$SM_BUILDDIR/plugins/file/.libs/file.so" "$W/plugins/"
printf 'example.com\nalice@other.example\n' > "$W/identities"
tb_milter_conf "$W/milter.conf" <<EOC
scope: { internal_networks = [ "127.0.0.0/8" ]; };
identity: {
  plugin_dir = "$W/plugins";
  sources = ( { name = "local"; plugin = "file"; path = "$W/identities"; } );
  check_envelope_from = false;
};
EOC
tb_start_milter "$W/milter.conf" || exit 1
tb_start_postfix "smtputf8_enable = yes" || exit 1

# send FROM-HEADER [SMTPUTF8]: prints "CODE TEXT" of the end-of-data reply
send() {
    timeout 30 python3 - "$1" "${2:-}" <<'EOP'
import smtplib, sys
frm, utf8 = sys.argv[1], sys.argv[2] == "SMTPUTF8"
msg = ("From: %s\r\nTo: bob@example.org\r\nSubject: t\r\n\r\nbody\r\n" % frm).encode()
s = smtplib.SMTP("127.0.0.1", 10025, timeout=20)
s.ehlo("client.example")
opts = ["SMTPUTF8", "BODY=8BITMIME"] if utf8 else ["BODY=8BITMIME"]
code, text = s.mail("bounce@example.com", opts)
if code == 250:
    s.rcpt("bob@example.org")
    code, text = s.data(msg)
print(code, text.decode("utf-8", "replace"))
s.quit()
EOP
}

out=$(send $'j\xc3\xb6rg@junk.example' SMTPUTF8)
tb_check "SMTPUTF8 client: the refused local part is UTF-8 ($out)" \
    grep -q '^550 5.7.1 Sender identity <jörg@junk.example> is not verified' <<<"$out"
out=$(send $'j\xc3\xb6rg@junk.example')
tb_check "other client: the local part is escaped, never ?? ($out)" \
    grep -qF '550 5.7.1 Sender identity <j\u{f6}rg@junk.example> is not verified' <<<"$out"
out=$(send "team: bob@example.com, alice@other.example;")
tb_check "From group of verified mailboxes: queued ($out)" grep -q '^250 ' <<<"$out"
out=$(send "team: bob@example.com, eve@junk.example;")
tb_check "From group with an unverified member: refused naming it ($out)" \
    grep -q '^550 5.7.1 Sender identity <eve@junk.example> is not verified' <<<"$out"
out=$(send "undisclosed-recipients:;")
tb_check "From with only an empty group: its own text ($out)" \
    grep -q '^550 5.7.1 The From header field names no mailbox, only an empty group' <<<"$out"
tb_done
