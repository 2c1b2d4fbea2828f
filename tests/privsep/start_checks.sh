#!/bin/bash
# start_checks.sh - "ses-milter -n" fails exactly when the start would, with the same
# "file:line: reason"; a daemon that fails after its fork says why on standard error and
# exits non-zero; -f says each error once; at TERM or INT the PID file and the socket go;
# -h / --help print the usage on standard output, an unknown option on standard error (64).
#
# Table: name | what to plant (shell) | -n status | -n line (exact) | start status | start line
# (exact, as the daemon's parent prints it; "" when the start succeeds)
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"
M="$SM_BUILDDIR/ses-milter"
C="$W/milter.conf"
mkdir -p "$W/plugins"
chmod 755 "$W/plugins"
install -m 644 -o root -g root "$SM_BUILDDIR/plugins/file/.libs/file.so" "$W/plugins/"

# one line per section, so that each setting's line is that of its first word
conf() {
    tb_milter_conf "$C" <<EOC
scope: { internal_networks = [ "10.0.0.0/8" ]; };
identity: { plugin_dir = "$W/plugins"; sources = ( { name = "local"; plugin = "file"; path = "$W/ids.txt"; } ); };
unsubscribe: { token_key_file = "$W/unsub.key"; rules = ( { name = "n"; senders = [ "news.example.com" ]; url = "https://e.example/u/%{token}"; multi_recipient = "skip"; } ); };
audit: { file = "$W/audit/audit.jsonl"; recipients = "plain"; };
EOC
}
set_conf() { sed -i "$1" "$C"; }
conf
line() { grep -n -m1 -- "$1" "$C" | cut -d: -f1; } # line WORD - where the setting is
L_SOCK=$(line ' socket = ') L_SGRP=$(line 'socket_group') L_USER=$(line ' user = ')
L_GROUP=$(line ' group = ') L_PID=$(line 'pid_file') L_ID=$(line '^identity:')
L_UNSUB=$(line '^unsubscribe:') L_AUDIT=$(line '^audit:')
NOENT="No such file or directory"
cases=(
"socket_dir_missing|set_conf 's#$W/run/milter.sock#$W/nosuch/milter.sock#'|78|ses-milter: $C:$L_SOCK: daemon.socket: directory $W/nosuch: $NOENT|78|ses-milter: $C:$L_SOCK: daemon.socket: directory $W/nosuch: $NOENT"
"pid_dir_missing|set_conf 's#$W/run/milter.pid#$W/nosuch/milter.pid#'|78|ses-milter: $C:$L_PID: daemon.pid_file: directory $W/nosuch: $NOENT|78|ses-milter: $C:$L_PID: daemon.pid_file: directory $W/nosuch: $NOENT"
"unknown_user|set_conf 's#user = \"nobody\"#user = \"nosuchuser\"#'|78|ses-milter: $C:$L_USER: daemon.user: user 'nosuchuser' does not exist|78|ses-milter: $C:$L_USER: daemon.user: user 'nosuchuser' does not exist"
"unknown_group|set_conf 's#  group = \"nogroup\"#  group = \"nosuchgroup\"#'|78|ses-milter: $C:$L_GROUP: daemon.group: group 'nosuchgroup' does not exist|78|ses-milter: $C:$L_GROUP: daemon.group: group 'nosuchgroup' does not exist"
"unknown_socket_group|set_conf 's#socket_group = \"postfix\"#socket_group = \"nosuchgroup\"#'|78|ses-milter: $C:$L_SGRP: daemon.socket_group: group 'nosuchgroup' does not exist|78|ses-milter: $C:$L_SGRP: daemon.socket_group: group 'nosuchgroup' does not exist"
"audit_dir_missing|rmdir $W/audit|78|ses-milter: $C:$L_AUDIT: audit.file: directory $W/audit: $NOENT|78|ses-milter: $C:$L_AUDIT: audit.file: directory $W/audit: $NOENT"
"audit_log_symlink|ln -s $W/victim $W/audit/audit.jsonl|78|ses-milter: $C:$L_AUDIT: audit.file: $W/audit/audit.jsonl: is a symbolic link (refused)|78|ses-milter: $C:$L_AUDIT: audit.file: $W/audit/audit.jsonl: is a symbolic link (refused)"
"unsub_key_missing|rm $W/unsub.key|78|ses-milter: $C:$L_UNSUB: cannot open key file $W/unsub.key: $NOENT|78|ses-milter: $C:$L_UNSUB: cannot open key file $W/unsub.key: $NOENT"
"pid_file_of_another_user_after_fork|echo 1 > $W/run/milter.pid; chown nobody $W/run/milter.pid|0||1|ses-milter: cannot write PID file $W/run/milter.pid: owned by another user (refused)"
"identities_unreadable_by_run_user_warns|chmod 600 $W/ids.txt|0|warning: $C:$L_ID: $W/ids.txt is not readable by user nobody: the list is read as root at a start and a reload (SIGHUP), but edits are not seen in between|0|"
"unsub_store_unreadable_by_run_user_warns|set_conf 's#^unsubscribe: { #unsubscribe: { store_file = \"$W/store\"; #'; install -m 600 /dev/null $W/store|0|warning: $C:$L_UNSUB: $W/store is not readable by user nobody: mail of every unsubscribe rule would be deferred (451)|0|"
"fine|true|0||0|"
)
rc=0
fail() { echo "FAIL $name: $*"; rc=1; }
# wait_gone PID - bounded wait for a process to exit
wait_gone() { for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done; return 1; }
# stop_daemon - TERM the daemon named by the PID file; the socket and the PID file must go
stop_daemon() {
    local pid; pid=$(cat "$W/run/milter.pid" 2>/dev/null) || { fail "no PID file"; return; }
    kill -TERM "$pid"; wait_gone "$pid" || { fail "daemon $pid did not stop"; kill -9 "$pid"; }
    [ ! -e "$W/run/milter.pid" ] || fail "PID file left after TERM"
    [ ! -e "$W/run/milter.sock" ] || fail "socket left after TERM"
}
for c in "${cases[@]}"; do
    IFS='|' read -r name plant n_status n_line s_status s_line <<< "$c"
    rm -rf "$W/audit" "$W/run/"* "$W/nosuch" "$W/victim"
    mkdir -p "$W/audit"; chown nobody:nogroup "$W/audit"
    printf 'precious\n' > "$W/victim"
    printf 'example.com\n' > "$W/ids.txt"; chmod 644 "$W/ids.txt"
    rm -f "$W/unsub.key"; "$SM_BUILDDIR/ses-milter-token" genkey "$W/unsub.key" >/dev/null
    conf
    eval "$plant"
    # -n
    err=$(timeout 10 "$M" -n -c "$C" 2>&1 >/dev/null); st=$?
    [ "$st" = "$n_status" ] || fail "-n exit $st, want $n_status: $err"
    if [ -n "$n_line" ]; then
        grep -qFx -- "$n_line" <<< "$err" || fail "-n: want line \"$n_line\", got: $err"
    elif grep -q '^ses-milter:' <<< "$err"; then
        fail "-n: unexpected error: $err"
    fi
    # the daemon (it forks; its parent says how the start went)
    err=$(timeout 10 "$M" -c "$C" 2>&1 >/dev/null); st=$?
    [ "$st" = "$s_status" ] || fail "start exit $st, want $s_status: $err"
    if [ -n "$s_line" ]; then
        grep -qFx -- "$s_line" <<< "$err" || fail "start: want line \"$s_line\", got: $err"
        [ ! -S "$W/run/milter.sock" ] || fail "socket left after the failed start"
    fi
    [ "$st" = 0 ] && stop_daemon
    # the foreground: the same error, said once
    if [ -n "$s_line" ]; then
        out=$(timeout 10 "$M" -f -c "$C" 2>&1); st=$?
        [ "$st" = "$s_status" ] || fail "-f exit $st, want $s_status: $out"
        n=$(grep -cF -- "${s_line#ses-milter: }" <<< "$out")
        [ "$n" = 1 ] || fail "-f said it $n times: $out"
    fi
    [ "$(cat "$W/victim")" = precious ] || fail "the link's target changed"
    [ "$rc" = 0 ] && echo "PASS $name"
done

# -f: INT stops it too and removes the socket and the PID file
name=foreground_int_removes_socket_and_pid_file
rm -rf "$W/run/"*; conf
"$M" -f -c "$C" > "$W/fg.log" 2>&1 &
fg=$!
for _ in $(seq 100); do [ -S "$W/run/milter.sock" ] && break; sleep 0.05; done
[ -S "$W/run/milter.sock" ] || fail "no socket: $(cat "$W/fg.log")"
kill -INT "$fg"; wait_gone "$fg" || { fail "did not stop on INT"; kill -9 "$fg"; }
[ ! -e "$W/run/milter.pid" ] && [ ! -e "$W/run/milter.sock" ] || fail "left: $(ls "$W/run")"
[ "$rc" = 0 ] && echo "PASS $name"

# usage
name=help_and_unknown_option
for h in -h --help; do
    out=$("$M" "$h" 2>"$W/err"); st=$?
    [ "$st" = 0 ] && grep -q '^usage: ses-milter' <<< "$out" && [ ! -s "$W/err" ] ||
        fail "$h: exit $st, stdout: $out, stderr: $(cat "$W/err")"
done
out=$("$M" -x 2>"$W/err"); st=$?
[ "$st" = 64 ] && [ -z "$out" ] && grep -q '^usage: ses-milter' "$W/err" ||
    fail "-x: exit $st, stdout: $out, stderr: $(cat "$W/err")"
[ "$rc" = 0 ] && echo "PASS $name"
exit $rc
