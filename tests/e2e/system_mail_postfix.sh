#!/bin/bash
# system_mail_postfix.sh - end to end: system mail through Postfix is neither refused nor looped
#
# Postfix's sendmail(1) -> pickup -> cleanup [non_smtpd_milters = ses-milter] -> local(8).
# Proves: a cron-style mail from root to root (its recipient resolved to the local
# transport: {rcpt_mailer} = local) is accepted as system mail and delivered to root's
# mailbox, where before it got "550 5.7.1 ... root@host is not verified"; mail from root
# to the outside is still refused; system_mail = "check" gates the local mail again.
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"

mkdir -p "$W/plugins" "$W/pf/mail" "$W/audit"; chmod 1777 "$W/pf/mail"; chown nobody "$W/audit"
install -m 644 "$SM_BUILDDIR/plugins/file/.libs/file.so" "$W/plugins/"
printf 'example.com\n' > "$W/identities"
conf() { # conf FILE [more scope settings]
    tb_milter_conf "$1" <<EOC
scope: { internal_networks = [ "127.0.0.0/8" ]; ${2:-} };
identity: {
  plugin_dir = "$W/plugins";
  sources = ( { name = "local"; plugin = "file"; path = "$W/identities"; } );
};
audit: { file = "$W/audit/audit.jsonl"; recipients = "plain"; fsync = "never"; };
EOC
}
conf "$W/milter.conf"
tb_start_milter "$W/milter.conf" || exit 1
tb_start_postfix "mydestination = mx.testbed.example, localhost" "myorigin = mx.testbed.example" \
    "mail_spool_directory = $W/pf/mail" || exit 1

submit() { # submit FROM TO MARKER - through Postfix's sendmail(1), as root does from cron
    printf 'From: %s\nTo: %s\nSubject: %s\nX-Marker: %s\n\nbody\n' "$1" "$2" "$3" "$3" |
        timeout 30 sendmail -C "$W/pf/etc" -t
}
# in_mailbox SUBJECT - a message with this Subject in root's mailbox itself (not quoted in a bounce)
in_mailbox() {
    awk -v s="Subject: $1" '/^From /{h=1; next} h && /^$/{h=0} h && $0 == s {f=1} END{exit !f}' \
        "$W/pf/mail/root" 2>/dev/null
}
wait_mailbox() { for _ in $(seq 100); do in_mailbox "$1" && return 0; sleep 0.1; done; return 1; }
wait_log() { for _ in $(seq 100); do grep -Eq "$1" "$2" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

submit "Cron Daemon <root@mx.testbed.example>" root m-cron
tb_check "cron mail from root to root: delivered to root's mailbox" wait_mailbox m-cron
tb_check "cron mail: logged as system mail (every recipient local)" \
    grep -q 'system mail: every recipient is delivered on this host' "$W/milter.log"

# record_sysmail RCPT - scope.system_mail of the last audit record whose recipients include RCPT
record_sysmail() {
    python3 - "$W/audit/audit.jsonl" "$1" <<'EOP'
import json, sys
last = None
for line in open(sys.argv[1]):
    r = json.loads(line)
    if sys.argv[2] in (r.get("rcpts") or []):
        last = r
print("none" if last is None else "v%d %s" % (last["v"], last["scope"]["system_mail"]))
EOP
}
tb_check "cron mail: its audit record says system mail, every recipient local (v2)" \
    test "$(record_sysmail root@mx.testbed.example)" = "v2 local-recipients"

submit "root@mx.testbed.example" carol@example.org m-root-out
tb_check "root to the outside, unverified: refused by ses-milter" \
    wait_log 'milter-reject: END-OF-MESSAGE .*5.7.1 Sender identity <root@mx.testbed.example> is not verified' "$W/pf/maillog"
tb_check "root to the outside: its audit record is not system mail (null)" \
    test "$(record_sysmail carol@example.org)" = "v2 None"
tb_check "root to the outside: its bounce reaches root's mailbox (not lost)" \
    wait_mailbox "Undelivered Mail Returned to Sender"

tb_stop_milter
conf "$W/milter.conf" 'system_mail = "check";'
tb_start_milter "$W/milter.conf" || exit 1
submit "root@mx.testbed.example" root m-check
tb_check "system_mail = check: the mail to root is refused again" \
    wait_log 'milter-reject: END-OF-MESSAGE .*Sender identity <root@mx.testbed.example> is not verified' "$W/pf/maillog"
tb_done
