#!/bin/bash
# sendmail_gate.sh - end to end: ses-milter in front of Debian's real sendmail
#
# swaks / sendmail -bs / sendmail -t (MSP) -> sendmail 127.0.0.1:25 [ses-milter, F=T]
#   -> smart host smtp-sink 127.0.0.2:10027
# with sendmail.cf built from the shipped contrib/sendmail/ses-milter.mc.
# Proves: verified senders are relayed; unverified ones get the same 550 5.7.1
# text as under Postfix and never reach the relay; the scope is
# internal-network for the loopback client and local-submission for
# "sendmail -bs"; the unsubscribe headers ses-milter adds are in the relayed
# message; a quarantined message waits in sendmail's quarantine (qf "q" line,
# mailq -qQ) and is not relayed; "sendmail -t" (Debian's MSP) from a verified sender
# is relayed; every ses-milter line about a message starts
# with sendmail's queue id; with ses-milter stopped F=T answers 4xx and the
# message stays with the client (swaks) or in the MSP's queue, not lost.
. "$SM_SRCDIR/tests/lib/testbed.sh"
. "$SM_SRCDIR/tests/lib/sendmail_bed.sh"
smb_require
tb_enter_ns "$@"

mkdir -p "$W/plugins" "$W/audit"; chown nobody:nogroup "$W/audit"
install -m 644 "$SM_BUILDDIR/plugins/file/.libs/file.so" "$W/plugins/"
printf 'example.com\nalice@other.example\nnews.example.com\nhold.example\n' > "$W/identities"
head -c 32 /dev/urandom > "$W/rcpt.key"; chmod 600 "$W/rcpt.key"
"$SM_BUILDDIR/ses-milter-token" genkey "$W/unsub.key" >/dev/null || exit 1
tb_milter_conf "$W/milter.conf" <<EOC
scope: { internal_networks = [ "127.0.0.0/8" ]; };
identity: {
  plugin_dir = "$W/plugins";
  sources = ( { name = "local"; plugin = "file"; path = "$W/identities"; } );
  overrides = ( { domain = "quarantine.example"; action = "quarantine"; } );
};
unsubscribe: {
  token_key_file = "$W/unsub.key";
  rules = ( { name = "news"; senders = [ "news.example.com" ];
              url = "https://example.com/unsubscribe/%{token}"; multi_recipient = "skip"; } );
};
audit: { file = "$W/audit/audit.jsonl"; recipient_key_file = "$W/rcpt.key"; };
EOC
# sendmail runs as root: its socket needs no group of its own
sed -i 's/socket_group = "postfix"/socket_group = "root"/' "$W/milter.conf"
tb_start_milter "$W/milter.conf" || exit 1
smb_start_sendmail || exit 1

captured() { grep -l "X-Marker: $1\$" "$W"/capture/* 2>/dev/null | head -1; }
summary() { grep "action=.*from=<$1>" "$W/milter.log" | tail -1; }

# name | envelope sender | From | reply expected by swaks | relayed?
while IFS='|' read -r name env from reply relayed; do
    [ -n "$name" ] || continue
    out=$(smb_swaks --from "$env" --to carol@example.org --h-From "$from" \
        --header "X-Marker: $name" --body "marker $name")
    tb_check "$name: reply $reply" grep -Eq "$reply" <<<"$out"
    if [ "$relayed" = yes ]; then
        tb_wait_capture 1
        for _ in $(seq 100); do [ -n "$(captured "$name")" ] && break; sleep 0.1; done
        tb_check "$name: relayed to the smart host" test -n "$(captured "$name")"
    else
        tb_check "$name: not relayed" test -z "$(captured "$name")"
    fi
done <<'EOT'
verified domain|bob@example.com|Bob <bob@example.com>|^<-  250 2.0.0 .* Message accepted for delivery|yes
verified address|alice@other.example|alice+list@other.example|^<-  250 2.0.0 .* Message accepted for delivery|yes
unverified From|bob@example.com|Eve <eve@unverified.example>|^<\*\* 550 5.7.1 Sender identity <eve@unverified.example> is not verified for sending$|no
unverified envelope sender|eve@unverified.example|bob@example.com|^<\*\* 550 5.7.1 Sender identity <eve@unverified.example> is not verified for sending$|no
EOT
tb_check "loopback client: scope internal-network" \
    grep -q 'scope=internal-network from=<bob@example.com>' "$W/milter.log"

# the unsubscribe headers are added by ses-milter and relayed by sendmail
smb_swaks --from list@news.example.com --to carol@example.org --h-From list@news.example.com \
    --header "X-Marker: m-news" --body "news" >/dev/null
for _ in $(seq 100); do [ -n "$(captured m-news)" ] && break; sleep 0.1; done
f=$(captured m-news)
tb_check "unsubscribe: List-Unsubscribe in the relayed message" \
    grep -Eq '^List-Unsubscribe: <https://example.com/unsubscribe/[^>]+>' "${f:-/dev/null}"
tb_check "unsubscribe: List-Unsubscribe-Post in the relayed message" \
    grep -q '^List-Unsubscribe-Post: List-Unsubscribe=One-Click' "${f:-/dev/null}"
tb_check "unsubscribe: one space after the colon (sendmail's leading space handled)" \
    bash -c "! grep -Eq '^List-Unsubscribe(-Post)?:( {2,}|[^ ])' '${f:-/dev/null}'"

# quarantine: sendmail keeps the message in its quarantine, with ses-milter's reason
out=$(smb_swaks --from q@quarantine.example --to carol@example.org --h-From q@quarantine.example \
    --header "X-Marker: m-quarantine")
tb_check "quarantine: the client's message is accepted" grep -q '^<-  250 2.0.0' <<<"$out"
qid=$(sed -n 's/^<-  250 2.0.0 \([^ ]*\) Message accepted.*/\1/p' <<<"$out")
tb_check "quarantine: the queue file (hf) has the q line with ses-milter's reason" \
    grep -q '^qsender identity <q@quarantine.example>.*not verified' "$S/mqueue/hf$qid"
tb_check "quarantine: mailq -qQ lists it" \
    bash -c "'$SMB_BIN' -C '$S/sendmail.cf' -bp -qQ | grep -q '$qid'"
sleep 1
tb_check "quarantine: not relayed" test -z "$(captured m-quarantine)"

# sendmail -bs: SMTP on stdin, no client address: the local-submission scope
out=$(smb_bs --from bob@example.com --to carol@example.org --h-From bob@example.com --header "X-Marker: m-bs")
tb_check "sendmail -bs, verified: accepted" grep -q '^<-  250 2.0.0' <<<"$out"
tb_check "sendmail -bs: scope local-submission" \
    grep -q 'scope=local-submission from=<bob@example.com>' "$W/milter.log"
out=$(smb_bs --from bob@example.com --to carol@example.org --h-From eve@unverified.example)
tb_check "sendmail -bs, unverified: 550 5.7.1" \
    grep -q '^<\*\* 550 5.7.1 Sender identity <eve@unverified.example> is not verified' <<<"$out"

# sendmail -t: Debian's MSP relays over SMTP from 127.0.0.1 (internal network)
printf 'From: bob@example.com\nTo: carol@example.org\nSubject: t\nX-Marker: m-t\n\nbody\n' > "$W/msg-ok-t"
smb_submit_t "$W/msg-ok-t" -f bob@example.com > "$W/submit-ok-t.out"
for _ in $(seq 100); do [ -n "$(captured m-t)" ] && break; sleep 0.1; done
tb_check "sendmail -t -f, verified: relayed through the MSP and the MTA" test -n "$(captured m-t)"

# the queue id in every line ses-milter logs about a message
n_bad=$(grep -Ev 'ses-milter\[[a-z]+\]: (ses-milter [0-9.]+ started|signal|stopped|log files)' "$W/milter.log" |
    grep -Evc 'ses-milter\[[a-z]+\]: [0-9A-Za-z]{14}: ')
tb_check "every message line starts with sendmail's queue id (i)" test "$n_bad" = 0

# ses-milter stopped: F=T tempfails, the client keeps the message
tb_stop_milter
out=$(smb_swaks --from bob@example.com --to carol@example.org --h-From bob@example.com --header "X-Marker: m-down")
tb_check "milter down (F=T): 4xx to the client" grep -Eq '^<\*\* 4[0-9][0-9] 4\.' <<<"$out"
printf 'From: bob@example.com\nTo: carol@example.org\nSubject: t\nX-Marker: m-down-t\n\nbody\n' > "$W/msg-t"
smb_submit_t "$W/msg-t" > "$W/submit-t.out"; cat "$W/submit-t.out"
tb_check "milter down: sendmail -t leaves the message in the MSP queue" \
    test -n "$(smb_queue "$S/clientmqueue")"
tb_check "milter down: nothing relayed" test -z "$(captured m-down)$(captured m-down-t)"
tb_done
