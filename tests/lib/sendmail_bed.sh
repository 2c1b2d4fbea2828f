#!/bin/bash
# sendmail_bed.sh - the Sendmail half of the test bed: Debian's real sendmail
#
# Sourced after testbed.sh, inside tb_enter_ns.  Debian's sendmail-bin
# conflicts with Postfix, so scripts/deps.sh unpacks sendmail-bin,
# sendmail-base and sendmail-cf into a private prefix (SM_SENDMAIL_PREFIX,
# default /opt/ses-milter-test/sendmail) instead of installing them.  The
# MTA's sendmail.cf is built with m4 from the shipped
# contrib/sendmail/ses-milter.mc, unchanged: only paths (and the relay's
# port) are given as -D definitions.  Its files are on a tmpfs over
# $SM_SENDMAIL_PREFIX/bed ($S), private to the namespace.  It listens on 127.0.0.1:25 of the
# private namespace, relays everything to smtp-sink on 127.0.0.2:10027
# (capturing into $W/capture) and delivers local mail through a script
# into $W/local.  Its syslog goes to $W/syslog through a private /dev/log
# (an overlay over /dev that only this namespace sees).
#
#   smb_require                SKIP (exit 77) unless the unpacked sendmail is there
#   smb_start_sendmail [-D..]  syslog sink, sendmail.cf + submit.cf, aliases, the MTA, smtp-sink
#   smb_swaks ARGS...          swaks against the MTA, bounded
#   smb_bs ARGS...             swaks through "sendmail -bs" (SMTP on stdin, no client address)
#   smb_submit_t FILE [ARGS]   "sendmail -t" through the MSP (submit.cf) relaying to 127.0.0.1:25
#   smb_queue [DIR]            the qf files of the MTA's queue (or DIR)
#   smb_wait_log REGEX         wait until the syslog has a line matching REGEX
#   smb_sasl_user USER PASS    SMTP AUTH for sendmail: a private sasldb and Sendmail.conf
#                              (tmpfs over /usr/lib/sasl2); call before smb_start_sendmail

SMB_PREFIX=${SM_SENDMAIL_PREFIX:-/opt/ses-milter-test/sendmail}
SMB_BIN=$SMB_PREFIX/usr/libexec/sendmail/sendmail
SMB_CFDIR=$SMB_PREFIX/usr/share/sendmail/cf

smb_require() {
    if [ ! -x "$SMB_BIN" ] || [ ! -f "$SMB_CFDIR/m4/cf.m4" ] || ! command -v m4 >/dev/null; then
        echo "SKIP: no unpacked sendmail under $SMB_PREFIX (scripts/deps.sh) or no m4"; exit 77
    fi
}

# smb_syslog - a private /dev/log: an overlay over /dev (the device nodes show through, a
# socket created there stays in this namespace).  Nothing under $W is a mount point:
# the cleanup's rm -rf must never reach the real /dev.
smb_syslog() {
    local o=$W/devovl
    mkdir -p "$o/up" "$o/work"
    mount -t overlay overlay -o "lowerdir=/dev,upperdir=$o/up,workdir=$o/work" /dev || return 1
    python3 "$SM_SRCDIR/tests/lib/syslog_sink.py" /dev/log "$W/syslog" & TB_PIDS+=($!)
    for _ in $(seq 100); do [ -S /dev/log ] && return 0; sleep 0.05; done
    echo "syslog sink did not start"; return 1
}

# smb_m4 MC OUT [-D...] - build a .cf with the unpacked sendmail-cf
smb_m4() {
    local mc=$1 out=$2; shift 2
    m4 -D"_CF_DIR_=$SMB_CFDIR/" "$@" "$SMB_CFDIR/m4/cf.m4" "$mc" > "$out" ||
        { echo "m4 failed on $mc"; return 1; }
}

smb_start_sendmail() { # smb_start_sendmail [extra m4 -D definitions for sendmail.cf]
    # sendmail refuses files below a world-writable directory (/tmp): its own files live
    # on a tmpfs mounted over $SMB_PREFIX/bed, private to this namespace
    S=$SMB_PREFIX/bed
    mkdir -p "$S" && mount -t tmpfs -o mode=755 sm-bed "$S" || return 1
    # ses-milter's socket directory, $W/run, seen by sendmail as $S/run
    mkdir -p "$S/etc" "$S/mqueue" "$S/clientmqueue" "$S/run" "$W/local"
    mount --bind "$W/run" "$S/run" || return 1
    chmod 700 "$S/mqueue"; chmod 770 "$S/clientmqueue"; chmod 1777 "$W/local"
    smb_syslog || return 1
    cp "$SMB_PREFIX/etc/mail/helpfile" "$S/etc/"
    printf 'hosts files\naliases files\n' > "$S/etc/service.switch"
    # no DNS for sendmail: its own name (gethostbyname at start) and the loopback come
    # from a hosts file, bind-mounted over /etc/hosts in this namespace only
    { cat /etc/hosts; printf '127.0.1.1 mx.testbed.example %s\n' "$(hostname)"; } > "$S/etc/hosts"
    mount --bind "$S/etc/hosts" /etc/hosts || return 1
    printf 'mx.testbed.example\n' > "$S/etc/local-host-names"
    printf 'postmaster: root\nMAILER-DAEMON: postmaster\n' > "$S/etc/aliases"
    # the local mailer: "mail.local -d $u" in sendmail.cf; one file per delivery
    cat > "$S/deliver" <<EOS
#!/bin/sh
u=unknown; while [ \$# -gt 0 ]; do [ "\$1" = -d ] && u=\$2; shift; done
cat > "$W/local/\$u.\$\$"
EOS
    chmod 755 "$S/deliver"
    smb_m4 "$SM_SRCDIR/contrib/sendmail/ses-milter.mc" "$S/sendmail.cf" \
        -D"SES_MILTER_SOCKET=unix:$S/run/milter.sock" -D'SMART_HOST=[127.0.0.2]' \
        -D'RELAY_MAILER_ARGS=TCP $h 10027' -D"confDOMAIN_NAME=mx.testbed.example" \
        -D"MAIL_SETTINGS_DIR=$S/etc/" -D"QUEUE_DIR=$S/mqueue" -D"STATUS_FILE=$S/run/sendmail.st" \
        -D"confPID_FILE=$S/run/sendmail.pid" -D"SES_LOCAL_MAILER_PATH=$S/deliver" \
        -D"confSERVICE_SWITCH_FILE=$S/etc/service.switch" -D"confHOSTS_FILE=$S/etc/hosts" "$@" || return 1
    # Debian's MSP for "sendmail -t": relays over SMTP to 127.0.0.1:25, queue in clientmqueue
    # (Debian runs it as smmsp; "nobody" here, which owns the client queue)
    chown nobody "$S/clientmqueue"
    smb_m4 "$SMB_CFDIR/cf/submit.mc" "$S/submit.cf" -D"confRUN_AS_USER=nobody" \
        -D"MSP_QUEUE_DIR=$S/clientmqueue" -D"confDOMAIN_NAME=mx.testbed.example" \
        -D"confPID_FILE=$S/clientmqueue/sm-client.pid" || return 1
    sed -i -e "s|^#*O ServiceSwitchFile=.*|O ServiceSwitchFile=$S/etc/service.switch|" \
        -e "s|^#*O HostsFile=.*|O HostsFile=$S/etc/hosts|" "$S/submit.cf"
    cp "$S/sendmail.cf" "$S/submit.cf" "$W/"   # for a look after the test (SM_TB_KEEP=1)
    "$SMB_BIN" -C "$S/sendmail.cf" -bi > "$W/newaliases.log" 2>&1 ||
        { echo "newaliases failed"; cat "$W/newaliases.log"; return 1; }
    # the relay is 127.0.0.2: sendmail counts [127.0.0.1] as itself (class w)
    smtp-sink -u postfix -d "$W/capture/%M%S." 127.0.0.2:10027 100 & TB_PIDS+=($!)
    "$SMB_BIN" -C "$S/sendmail.cf" -bD -L sm-mta > "$W/sendmail.out" 2>&1 & TB_PIDS+=($!)
    SMB_PID=$!
    tb_wait_port 25 && tb_wait_port 10027 || { cat "$W/sendmail.out" "$W/syslog"; return 1; }
}

smb_sasl_user() {
    command -v saslpasswd2 >/dev/null || { echo "no saslpasswd2 (sasl2-bin)"; return 1; }
    mkdir -p "$W/sasl"
    mount -t tmpfs -o mode=755 sm-sasl /usr/lib/sasl2 || return 1
    printf 'pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: %s\nmech_list: CRAM-MD5 DIGEST-MD5\n' \
        "$W/sasl/sasldb2" > /usr/lib/sasl2/Sendmail.conf
    echo "$2" | saslpasswd2 -p -c -f "$W/sasl/sasldb2" -u mx.testbed.example "$1" || return 1
}

smb_swaks() { timeout 60 swaks --server 127.0.0.1 --port 25 --timeout 30 "$@" 2>&1; }

smb_bs() { timeout 60 swaks --pipe "$SMB_BIN -C $S/sendmail.cf -bs" --timeout 30 "$@" 2>&1; }

smb_submit_t() { local f=$1; shift; timeout 60 "$SMB_BIN" -C "$S/submit.cf" -t "$@" < "$f" 2>&1; }

smb_queue() { ls "${1:-$S/mqueue}" 2>/dev/null | grep '^qf' ; }

smb_wait_log() {
    for _ in $(seq 100); do grep -Eq "$1" "$W/syslog" 2>/dev/null && return 0; sleep 0.1; done
    return 1
}
