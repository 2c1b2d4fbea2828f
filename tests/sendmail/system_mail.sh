#!/bin/bash
# system_mail.sh - end to end: system mail through Debian's real sendmail is neither refused
# nor looped (the default system_mail rule), while mail leaving the host is still gated
#
# "sendmail -t" goes through Debian's MSP (submit.cf), which relays over SMTP to the MTA on
# 127.0.0.1 (scope internal-network).  Proves: a cron-style mail from root to root is
# delivered locally; a message refused for its unverified sender comes back as a bounce
# (MAIL FROM:<>, From: MAILER-DAEMON) that is accepted and delivered to the sender, with
# no double bounce and no "SYSERR: savemail"; mail from root to the outside is still
# refused; "sendmail -Am -bm" by root delivers without the milter; system_mail = "check"
# gates such mail again.
. "$SM_SRCDIR/tests/lib/testbed.sh"
. "$SM_SRCDIR/tests/lib/sendmail_bed.sh"
smb_require
tb_enter_ns "$@"

mkdir -p "$W/plugins" "$W/audit"; chown nobody:nogroup "$W/audit"
install -m 644 "$SM_BUILDDIR/plugins/file/.libs/file.so" "$W/plugins/"
printf 'example.com\n' > "$W/identities"
head -c 32 /dev/urandom > "$W/rcpt.key"; chmod 600 "$W/rcpt.key"
conf() { # conf FILE [identity lines]
    tb_milter_conf "$1" <<EOC
scope: { internal_networks = [ "127.0.0.0/8" ]; ${2:-} };
identity: {
  plugin_dir = "$W/plugins";
  sources = ( { name = "local"; plugin = "file"; path = "$W/identities"; } );
};
audit: { file = "$W/audit/audit.jsonl"; recipient_key_file = "$W/rcpt.key"; };
EOC
    sed -i 's/socket_group = "postfix"/socket_group = "root"/' "$1"
}
conf "$W/milter.conf"
tb_start_milter "$W/milter.conf" || exit 1
smb_start_sendmail || exit 1

local_has() { grep -l "$2" "$W"/local/"$1".* 2>/dev/null | head -1; }
wait_local() { for _ in $(seq 150); do [ -n "$(local_has "$1" "$2")" ] && return 0; sleep 0.1; done; return 1; }
submit() { # submit FROM TO MARKER
    printf 'From: %s\nTo: %s\nSubject: %s\nX-Marker: %s\n\nbody %s\n' "$1" "$2" "$3" "$3" "$3" > "$W/$3.msg"
    smb_submit_t "$W/$3.msg" > "$W/$3.out" 2>&1
}

submit "Cron Daemon <root@mx.testbed.example>" root "m-cron"
tb_check "cron mail from root to root: delivered locally" wait_local root "X-Marker: m-cron"
tb_check "cron mail: logged as system mail (every recipient local)" \
    grep -q 'system mail: every recipient is delivered on this host' "$W/milter.log"

submit "Eve <eve@unverified.example>" carol@example.org "m-refused"
tb_check "unverified sender from the MSP: refused by ses-milter" \
    smb_wait_log "Milter: data, reject=550 5.7.1 Sender identity <eve@unverified.example>"
tb_check "its bounce (MAIL FROM:<>, From: MAILER-DAEMON) is delivered to the sender" \
    wait_local root "X-Marker: m-refused"
tb_check "the bounce is logged as system mail (an MTA bounce)" \
    grep -q 'system mail: .*from=<MAILER-DAEMON@mx.testbed.example>: accepted' "$W/milter.log"
sleep 1
tb_check "no SYSERR in sendmail's log" bash -c "! grep -q SYSERR '$W/syslog'"
tb_check "no double bounce to postmaster" test -z "$(local_has root 'Subject: Postmaster notify')"
tb_check "nothing left in the MTA's queue" test -z "$(smb_queue)$(ls "$S/mqueue" | grep '^Qf')"

# a bounce to a remote sender leaves through the smart host; a null-sender message with
# any other From is still checked (identity.null_sender = "check_from")
bounce() { # bounce FROM MARKER
    smb_swaks --from '<>' --to bob@example.com --h-From "$1" --header "X-Marker: $2" \
        --header "Subject: Undelivered Mail Returned to Sender"
}
captured() { grep -l "X-Marker: $1\$" "$W"/capture/* 2>/dev/null | head -1; }
out=$(bounce "Mail Delivery Subsystem <MAILER-DAEMON@mx.testbed.example>" m-bounce-out)
tb_check "MTA bounce to a remote sender: accepted" grep -q '^<-  250 2.0.0' <<<"$out"
for _ in $(seq 100); do [ -n "$(captured m-bounce-out)" ] && break; sleep 0.1; done
tb_check "MTA bounce to a remote sender: relayed" test -n "$(captured m-bounce-out)"
tb_check "MTA bounce: logged as a bounce from the MTA" \
    grep -q 'system mail: a bounce from the MTA (scope.bounce_senders), from=<MAILER-DAEMON@mx.testbed.example>' "$W/milter.log"
out=$(bounce "eve@unverified.example" m-bounce-forged)
tb_check "null sender with another From: still refused" \
    grep -q '^<\*\* 550 5.7.1 Sender identity <eve@unverified.example>' <<<"$out"

submit "root@mx.testbed.example" carol@example.org "m-root-out"
tb_check "root to the outside, unverified: still refused" \
    smb_wait_log "Milter: data, reject=550 5.7.1 Sender identity <root@mx.testbed.example>"

out=$(timeout 30 "$SMB_BIN" -C "$S/sendmail.cf" -Am -bm -f eve@unverified.example root \
    < <(printf 'From: eve@unverified.example\nX-Marker: m-bm\n\nbody\n') 2>&1)
tb_check "sendmail -Am -bm by root: delivered without the milter" wait_local root "X-Marker: m-bm"

# system_mail = "check": the bounce and the mail to root are gated like any other mail
tb_stop_milter
conf "$W/milter.conf" 'system_mail = "check";'
tb_start_milter "$W/milter.conf" || exit 1
submit "root@mx.testbed.example" root "m-check"
tb_check "system_mail = check: mail to root from an unverified sender is refused" \
    smb_wait_log "Milter: data, reject=550 5.7.1 Sender identity <root@mx.testbed.example>"
out=$(bounce "Mail Delivery Subsystem <MAILER-DAEMON@mx.testbed.example>" m-bounce-check)
tb_check "system_mail = check: an MTA bounce is refused" \
    grep -q '^<\*\* 550 5.7.1 Sender identity <MAILER-DAEMON@mx.testbed.example>' <<<"$out"
tb_done
