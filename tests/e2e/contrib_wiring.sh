#!/bin/bash
# contrib_wiring.sh - end to end: the shipped wiring works on a default Debian MTA
#
# Uses the files as shipped - contrib/systemd/ses-milter.service and
# ses-milter.tmpfiles, conf/ses-milter.conf, contrib/postfix/*.snippet,
# contrib/logrotate/ses-milter - with only their absolute paths moved under
# the test's work folder ($R stands for /; Postfix's queue directory, the
# root of its chroot, is the test bed's).  Proves:
#   - the unit passes systemd-analyze verify and the directories it and the
#     tmpfiles file declare, created with the declared owners and modes, let
#     ses-milter (started as root with the unit's capability bounding set,
#     NoNewPrivileges and UMask, on the sample configuration) open its socket
#     where a chrooted Postfix reaches it, with the owner and mode Postfix needs;
#   - every directory the sample configuration writes is writable under
#     ProtectSystem=strict, and ProtectHome leaves root's ~/.aws readable;
#   - Postfix with every service chrooted as in Debian's master.cf and the
#     main.cf snippet's lines delivers a verified message, refuses an unverified
#     one with 550 5.7.1, and gates a sendmail(1) submission (chrooted cleanup);
#     the snippets wire in no second milter; the master.cf snippet's service
#     names the same socket and passes "postfix check";
#   - a restart opens the audit log that now belongs to the run user;
#   - logrotate with the shipped file, then its postrotate SIGUSR1: the next
#     record goes to the new file, owned by the run user, the rotated file gets
#     nothing more, and the chain verifies across both files;
#   - ExecReload's check and a SIGHUP reload work as the unit runs them;
#   - every system call the daemon made (strace: start, mail, restart, SIGUSR1,
#     SIGHUP, stop) is allowed by the unit's SystemCallFilter, and every socket
#     family by RestrictAddressFamilies.
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"
for t in setpriv logrotate strace; do
    command -v "$t" >/dev/null || { echo "SKIP: $t missing"; exit 77; }
done
# without systemd installed, the checks that need systemd-analyze say so and pass
sa() { command -v systemd-analyze >/dev/null && systemd-analyze "$@"; }
sa_skip() { command -v systemd-analyze >/dev/null || { tb_ok "$1 # SKIP systemd-analyze missing"; return 0; }; return 1; }
UNIT=$SM_SRCDIR/contrib/systemd/ses-milter.service
TMPFILES=$SM_SRCDIR/contrib/systemd/ses-milter.tmpfiles
R=$W/root
PF_QUEUE=$W/pf/spool

# relocate - the shipped absolute paths under the test's work folder
relocate() {
    sed -E -e "s#(^|[ \"=:])/var/spool/postfix(/|\"|\$| )#\1$PF_QUEUE\2#g" \
        -e "s#(^|[ \"=:-])/(run|var/log)/#\1$R/\2/#g" \
        -e "s#(^|[ \"=:])/usr/local/etc/#\1$R/etc/#g" \
        -e "s#(^|[ \"=:])/usr/local/lib/ses-milter/plugins#\1$R/lib/plugins#g" \
        -e "s#(^|[ \"=:])/usr/local/sbin/ses-milter#\1$SM_BUILDDIR/ses-milter#g"
}
ukey() { sed -n "s/^$1=//p" "$UNIT"; } # every value of one [Service] setting

# the run user of the sample configuration, in this namespace only
uid=64999
for f in passwd group; do cp "/etc/$f" "$W/$f"; done
echo "ses-milter:x:$uid:$uid::/nonexistent:/usr/sbin/nologin" >> "$W/passwd"
echo "ses-milter:x:$uid:" >> "$W/group"
for f in passwd group; do mount --bind "$W/$f" "/etc/$f"; done

# --- the unit --------------------------------------------------------------
mkdir -p "$R/etc/ses-milter" "$R/lib/plugins" "$R/run" "$R/var/log" "$W/units"
relocate < "$UNIT" > "$W/units/ses-milter.service"
if ! sa_skip "the unit passes systemd-analyze verify"; then
    out=$(sa verify "$W/units/ses-milter.service" 2>&1)
    tb_check "the unit passes systemd-analyze verify" test -z "$out" || echo "$out"
fi
tb_check "the unit starts ses-milter as root (no User=): the daemon drops privileges itself" \
    test -z "$(ukey User)"
tb_check "the tmpfiles file is shipped next to the unit" test -f "$TMPFILES" || exit 1

# directories as systemd would create them: Runtime/LogsDirectory= (owner User=/Group=,
# root when unset; mode *DirectoryMode=, default 0755), then the tmpfiles "d" lines
mkdirs() {
    local kind=$1 base=$2 d mode
    mode=$(ukey "${kind}Mode"); mode=${mode:-0755}
    for d in $(ukey "$kind"); do
        install -d -m "$mode" -o "$(ukey User | grep . || echo root)" \
            -g "$(ukey Group | grep . || echo root)" "$base/$d"
    done
}
mkdirs RuntimeDirectory "$R/run"
mkdirs LogsDirectory "$R/var/log"
mkdir -p "$PF_QUEUE" # Postfix's queue directory exists before ses-milter starts
relocate < "$TMPFILES" > "$W/ses-milter.tmpfiles"
if command -v systemd-tmpfiles >/dev/null; then # as ExecStartPre=+systemd-tmpfiles --create
    out=$(systemd-tmpfiles --create "$W/ses-milter.tmpfiles" 2>&1)
    tb_check "systemd-tmpfiles accepts the tmpfiles file" test $? = 0 -a -z "$out" || echo "$out"
else
    while read -r type path mode user group _; do
        [ "$type" = d ] && install -d -m "$mode" -o "$user" -g "$group" "$path"
    done < "$W/ses-milter.tmpfiles"
fi
tb_check "the socket directory is ses-milter:postfix 0750, the audit directory ses-milter:adm 0750" \
    test "$(stat -c '%U:%G %a' "$PF_QUEUE/ses-milter" "$R/var/log/ses-milter" 2>&1 | paste -sd,)" = \
    "ses-milter:postfix 750,ses-milter:adm 750"
tb_check "the PID directory is root's 0755 (systemd and logrotate trust the PID file)" \
    test "$(stat -c '%U:%G %a' "$R/run/ses-milter" 2>&1)" = "root:root 755"

# --- the sample configuration ----------------------------------------------
CONF=$R/etc/ses-milter/ses-milter.conf
relocate < "$SM_SRCDIR/conf/ses-milter.conf" > "$CONF"
install -m 644 "$SM_SRCDIR/conf/identities.example" "$R/etc/ses-milter/identities"
install -m 644 "$SM_BUILDDIR/plugins/file/.libs/file.so" "$R/lib/plugins/"
head -c 32 /dev/urandom > "$R/etc/ses-milter/audit-recipient.key"
chmod 600 "$R/etc/ses-milter/audit-recipient.key"
sock=$(sed -n 's/^ *socket = "unix:\(.*\)";.*/\1/p' "$CONF")
pidf=$(sed -n 's/^ *pid_file = "\(.*\)";.*/\1/p' "$CONF")
audit=$(sed -n 's/^ *file = "\(.*audit[^"]*\)";.*/\1/p' "$CONF")
rw=$(ukey ReadWritePaths | relocate | tr ' ' '\n'; for d in $(ukey RuntimeDirectory); do echo "$R/run/$d"; done)
for f in "$sock" "$pidf" "$audit"; do
    tb_check "writable under ProtectSystem=strict: $(dirname "${f#"$R"}")" \
        grep -qxF "$(dirname "$f")" <<<"$rw"
done
tb_check "ProtectHome leaves root's ~/.aws readable for the SES credential chain" \
    grep -Eqx 'read-only|no|false|tmpfs' <<<"$(ukey ProtectHome | grep . || echo no)"

caps=$(ukey CapabilityBoundingSet | tr ' ' '\n' | sed -n 's/^CAP_\(.*\)/+\L\1/p' | paste -sd,)
nnp=; [ "$(ukey NoNewPrivileges)" = yes ] && nnp=--no-new-privs
start_daemon() { # as the unit's ExecStart, in the foreground for the log, under strace
    rm -f "$pidf" "$sock" # so that only this start's socket and PID file count
    (umask "$(ukey UMask | grep . || echo 0022)"
     exec setpriv --bounding-set "-all,$caps" --inh-caps -all $nnp -- \
         strace -f -qq -o "$W/strace.$1" $(ukey ExecStart | relocate) -f) >> "$W/milter.log" 2>&1 &
    TB_PIDS+=($!)
    for _ in $(seq 400); do [ -S "$sock" ] && [ -s "$pidf" ] && break; sleep 0.05; done
    [ -S "$sock" ] && [ -s "$pidf" ] && TB_PIDS+=("$(cat "$pidf")")
}
stop_daemon() {
    local p; p=$(cat "$pidf" 2>/dev/null) || return 1
    kill "$p"; for _ in $(seq 300); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.05; done
    return 1
}
out=$($(ukey ExecStartPre | grep -m1 "ses-milter -n" | relocate) 2>&1)
tb_check "ExecStartPre (ses-milter -n) accepts the sample configuration" test $? = 0 ||
    echo "$out" | tail -5
start_daemon 1
tb_check "ses-milter opens the sample's socket under the unit's capability bounding set" \
    test -S "$sock" || tail -5 "$W/milter.log"
tb_check "the socket sits in Postfix's queue directory (reachable from its chroot)" \
    test "${sock#"$PF_QUEUE"/}" != "$sock"
tb_check "the socket is ses-milter:postfix 0660" \
    test "$(stat -c '%U:%G %a' "$sock" 2>/dev/null)" = "ses-milter:postfix 660"
tb_check "the postfix user can reach the socket" \
    setpriv --reuid=postfix --regid=postfix --clear-groups test -w "$sock"
tb_check "the PID file names the running daemon" kill -0 "$(cat "$pidf" 2>/dev/null || echo 0)"

# --- Postfix, chrooted as Debian ships it, with the main.cf snippet ----------------
mapfile -t pf_lines < <(grep -Ev '^[[:space:]]*(#|$)' "$SM_SRCDIR/contrib/postfix/main.cf.snippet")
only_ses_milter() { # every *_milters line names ses-milter's socket and nothing else
    local l n=0
    for l in "$@"; do
        [[ $l =~ ^[a-z_]*milters\ *= ]] || continue
        n=$((n + 1)); [[ $l =~ =\ *unix:ses-milter/ses-milter\.sock\ *$ ]] || return 1
    done
    [ "$n" -gt 0 ]
}
tb_check "the main.cf snippet wires in ses-milter alone (a DKIM signer only as a comment)" \
    only_ses_milter "${pf_lines[@]}"
TB_PF_CHROOT=1 tb_start_postfix "${pf_lines[@]}" || exit 1
chroots=$(postconf -c "$W/pf/etc" -Fh '127.0.0.1:10025/inet/chroot' 'cleanup/unix/chroot')
tb_check "Postfix's smtpd and cleanup run chrooted (Debian's master.cf)" test "$(echo $chroots)" = "y y"
queued() { grep -q '250 2.0.0 Ok: queued' <<<"$1"; }
out=$(tb_swaks --from alice@example.com --to bob@example.org --h-From alice@example.com \
      --header "X-Marker: w-verified" --body x)
tb_check "chrooted smtpd: a verified sender is accepted" queued "$out" || echo "$out" | tail -3
out=$(tb_swaks --from eve@unverified.example --to bob@example.org --h-From eve@unverified.example --body x)
tb_check "chrooted smtpd: an unverified sender is refused with 550 5.7.1" \
    grep -q '<\*\* 550 5.7.1 Sender identity <eve@unverified.example> is not verified' <<<"$out"
printf 'From: root@example.com\nSubject: local\nX-Marker: w-local\n\nbody\n' |
    timeout 20 sendmail -C "$W/pf/etc" -f root@example.com bob@example.org
tb_wait_capture 2
tb_check "the verified message reaches the relay" grep -lq 'X-Marker: w-verified' "$W"/capture/*
tb_check "chrooted cleanup: a sendmail(1) submission passes ses-milter and is relayed" \
    grep -lq 'X-Marker: w-local' "$W"/capture/*
tb_check "the sendmail(1) submission was gated as local-submission" \
    grep -q 'scope=local-submission' "$W/milter.log"
smtpd_root() { # the root directory of the smtpd process that served 127.0.0.1:10025
    # (a child of this bed's master: other beds on the machine share the PID namespace)
    local m p
    m=$(tr -d ' ' < "$W/pf/spool/pid/master.pid" 2>/dev/null) || return 1
    p=$(pgrep -P "$m" -f -n "smtpd -n 127.0.0.1:10025") && readlink "/proc/$p/root"
}
tb_check "the smtpd that served them ran chrooted in the queue directory" \
    test "$(smtpd_root)" = "$PF_QUEUE"

# the same main.cf lines without chroot: the relative path still reaches the socket
sed -i -E '/^[^#[:space:]]/ s/^(([^ ]+ +){4})y /\1n /' "$W/pf/etc/master.cf"
postfix -c "$W/pf/etc" reload >/dev/null 2>&1
for _ in $(seq 50); do [ "$(smtpd_root)" != "$PF_QUEUE" ] && break; sleep 0.1; done
out=$(tb_swaks --from alice@example.com --to bob@example.org --h-From alice@example.com --body x)
tb_check "smtpd not chrooted: the same lines reach ses-milter (verified sender accepted)" queued "$out"
tb_check "... and that smtpd ran outside the chroot" test "$(smtpd_root)" = /

# the master.cf snippet's service, on a loopback port, is accepted and names the same socket
sed 's/^submission /127.0.0.1:10587 /' "$SM_SRCDIR/contrib/postfix/master.cf.snippet" >> "$W/pf/etc/master.cf"
tb_check "the master.cf snippet passes postfix check" postfix -c "$W/pf/etc" check
m=$(postconf -c "$W/pf/etc" -P '127.0.0.1:10587/inet/smtpd_milters' 2>/dev/null | sed 's/.*= *//')
tb_check "the master.cf snippet's service uses ses-milter's socket and no second milter" \
    test "$m" = "unix:ses-milter/ses-milter.sock"

# --- restart: root reopens the audit log the run user owns now ----------------
tb_check "the audit log belongs to the run user" test "$(stat -c %U "$audit" 2>/dev/null)" = ses-milter
tb_check "ses-milter stops on SIGTERM" stop_daemon
start_daemon 2
tb_check "a restart opens the run user's audit log again (socket back, daemon up)" \
    bash -c "test -S '$sock' && kill -0 \$(cat '$pidf')" || tail -5 "$W/milter.log"
out=$(tb_swaks --from alice@example.com --to bob@example.org --h-From alice@example.com --body x)
tb_check "after the restart a verified sender is accepted" queued "$out"

# --- logrotate with the shipped file, then SIGUSR1 ------------------------------
relocate < "$SM_SRCDIR/contrib/logrotate/ses-milter" > "$W/logrotate.conf"
before=$(wc -l < "$audit")
out=$(logrotate -f -s "$W/logrotate.state" "$W/logrotate.conf" 2>&1)
tb_check "logrotate accepts the shipped file" test -z "$out" || echo "$out"
for _ in $(seq 100); do grep -q 'SIGUSR1: log files reopened' "$W/milter.log" && break; sleep 0.05; done
out=$(tb_swaks --from alice@example.com --to bob@example.org --h-From alice@example.com \
      --header "X-Marker: w-rotated" --body x)
tb_check "after the rotation a verified sender is accepted" queued "$out"
for _ in $(seq 100); do grep -q w-rotated "$audit" 2>/dev/null || [ -s "$audit" ] && break; sleep 0.05; done
tb_check "the record after SIGUSR1 goes to the new audit.jsonl" test "$(wc -l < "$audit")" = 1
tb_check "the rotated file gets no record after the rotation" test "$(wc -l < "$audit.1")" = "$before"
tb_check "the new audit.jsonl is the run user's, mode 0640" \
    test "$(stat -c '%U %a' "$audit")" = "ses-milter 640"
tb_check "no error reopening the audit log" bash -c "! grep -q 'audit log:' '$W/milter.log'"
tb_check "the chain verifies across the rotated and the new file" \
    "$SM_BUILDDIR/ses-milter-audit" verify "$audit.1" "$audit"
# a reload (the unit's ExecReload: -n, then SIGHUP) goes through the privileged helper
out=$($(ukey ExecReload | grep -m1 "ses-milter -n" | relocate) 2>&1)
tb_check "ExecReload's check passes" test $? = 0 || echo "$out" | tail -3
kill -HUP "$(cat "$pidf")"
for _ in $(seq 100); do grep -q 'configuration .* reloaded' "$W/milter.log" && break; sleep 0.05; done
tb_check "SIGHUP reloads the sample configuration as the unit runs it" \
    grep -q 'configuration .* reloaded' "$W/milter.log"
tb_check "ses-milter stops on SIGTERM after the rotation and the reload" stop_daemon

# --- what the sandbox allows: system calls and socket families -------------------
for _ in $(seq 100); do pgrep -f "strace -f -qq -o $W/strace" >/dev/null || break; sleep 0.05; done
if ! sa_skip "every system call the daemon made is allowed by SystemCallFilter"; then
used=$(cat "$W"/strace.* | sed -nE 's/^[0-9]+ +([a-z0-9_]+)\(.*/\1/p' | sort -u)
allowed=$(python3 - "$UNIT" <<'EOP'
import re, subprocess, sys
groups, cur = {}, None
for line in subprocess.run(["systemd-analyze", "syscall-filter"], capture_output=True,
                           text=True).stdout.splitlines():
    if line.startswith("@"):
        cur = groups.setdefault(line.strip(), [])
    elif cur is not None and line.strip() and not line.strip().startswith("#"):
        cur.append(line.strip())
def expand(n, seen=()):
    if not n.startswith("@"):
        return {n}
    return set().union(*[expand(m, seen + (n,)) for m in groups.get(n, []) if m not in seen])
allow = None
for v in re.findall(r"^SystemCallFilter=(.*)$", open(sys.argv[1]).read(), re.M):
    deny = v.startswith("~")
    names = set().union(*[expand(n) for n in v.lstrip("~").split()])
    if allow is None:
        allow = set() if not deny else None
    if allow is None:
        sys.exit("deny-list-only filters are not handled")
    allow = allow - names if deny else allow | names
# always allowed by systemd's seccomp set-up, whatever the filter
allow |= {"execve", "exit", "exit_group", "rt_sigreturn", "getrlimit", "clock_gettime",
          "gettimeofday", "time", "nanosleep", "clock_nanosleep"}
print("\n".join(sorted(allow)))
EOP
)
bad=$(comm -23 <(echo "$used") <(echo "$allowed") | paste -sd' ')
tb_check "every system call the daemon made is allowed by SystemCallFilter${bad:+ (not: $bad)}" \
    test -n "$used" -a -z "$bad"
fi
fams=$(cat "$W"/strace.* | sed -nE 's/^[0-9]+ +socket\((AF_[A-Z0-9]+).*/\1/p' | sort -u)
bad=$(comm -23 <(echo "$fams") <(ukey RestrictAddressFamilies | tr ' ' '\n' | sort -u) | paste -sd' ')
tb_check "every socket family the daemon used is in RestrictAddressFamilies${bad:+ (not: $bad)}" \
    test -z "$bad"
tb_done
