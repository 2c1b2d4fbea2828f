#!/bin/bash
# install_sample_checks.sh - "make install" leaves a set-up that checks and starts
#
# Installs the build tree into a fresh prefix (make install prefix=... sysconfdir=...
# localstatedir=... runstatedir=...), then proves:
#   - the sample configuration, the identity list, the recipient key (mode 0600), the
#     manual pages, the documents and the contrib files are installed;
#   - no path of the default layout is left in the installed configuration: every one
#     is under the prefix it was installed with;
#   - the directories of its socket (in Postfix's queue directory), PID file and audit
#     trail are made, the socket's and the trail's owned by the run user;
#   - "ses-milter -n" on the installed configuration exits 0, and the daemon starts
#     on it, opens its socket and stops on SIGTERM;
#   - a second "make install" keeps an edited configuration and identity list and
#     the key, and says so; "make uninstall" keeps them too and removes the rest.
#
# usage: install_sample_checks.sh   (from make check: SM_BUILDDIR)
set -u
BUILD=${SM_BUILDDIR:-.}

# the whole test runs as root in a private mount and network namespace: /etc/passwd
# and /etc/group name the user ses-milter there, and a tmpfs hides the real Postfix
# queue directory, where the sample's socket directory is made
if [ "${SM_INSTALL_INSIDE:-}" != 1 ]; then
    [ "$(id -u)" = 0 ] || { echo "SKIP: needs root (a private namespace with the user ses-milter)"; exit 77; }
    export SM_INSTALL_INSIDE=1
    exec unshare --mount --net --fork -- bash "$(readlink -f "$0")" "$@"
fi
T=$(mktemp -d /tmp/sm-install.XXXXXX)
chmod 755 "$T"
trap 'rm -rf "$T"' EXIT
cp /etc/passwd "$T/passwd" && cp /etc/group "$T/group"
echo "ses-milter:x:64990:64990:ses-milter:/nonexistent:/usr/sbin/nologin" >> "$T/passwd"
echo "ses-milter:x:64990:" >> "$T/group"
mount --bind "$T/passwd" /etc/passwd && mount --bind "$T/group" /etc/group || exit 99
spool=0
if [ -d /var/spool/postfix ]; then
    mount -t tmpfs -o mode=0755 tmpfs /var/spool/postfix && spool=1
fi
ip link set lo up 2>/dev/null

# start CONF - ses-milter -f on CONF: "up=1" when its socket appeared, "stopped=STATUS"
start() {
    local sock pid up=0
    sock=$(sed -n 's/^daemon\.socket = "unix:\(.*\)";$/\1/p' "$T/n.out")
    "$P/sbin/ses-milter" -f -c "$1" > "$T/run.log" 2>&1 &
    pid=$!
    for _ in $(seq 200); do
        [ -n "$sock" ] && [ -S "$sock" ] && { up=1; break; }
        kill -0 $pid 2>/dev/null || break
        sleep 0.05
    done
    echo "up=$up"
    kill -TERM $pid 2>/dev/null
    for _ in $(seq 200); do kill -0 $pid 2>/dev/null || break; sleep 0.05; done
    if kill -0 $pid 2>/dev/null; then kill -9 $pid; echo "stopped=no"; return; fi
    wait $pid
    echo "stopped=$?"
}

fails=0
n=0
ok() { # ok RC NAME - one TAP line
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi
}
P=$T/usr
DIRS=(prefix="$P" sysconfdir="$T/etc" localstatedir="$T/var" runstatedir="$T/run")
CONF=$T/etc/ses-milter/ses-milter.conf
IDS=$T/etc/ses-milter/identities
KEY=$T/etc/ses-milter/audit-recipient.key
DOC=$P/share/doc/ses-milter
install() { make -s -C "$BUILD" install "${DIRS[@]}" > "$T/install$1.log" 2>&1; }

install 1
ok $? "make install into a fresh prefix succeeds"
for f in "$CONF" "$IDS" "$KEY" "$P/sbin/ses-milter" "$P/lib/ses-milter/plugins/file.so" \
    "$P/share/man/man8/ses-milter.8" "$P/share/man/man5/ses-milter.conf.5" \
    "$P/share/man/man1/ses-milter-audit.1" "$P/share/man/man1/ses-milter-token.1" \
    "$DOC/README.md" "$DOC/ses-milter.conf.sample" "$DOC/contrib/postfix/main.cf.snippet" \
    "$DOC/contrib/systemd/ses-milter.service"; do
    [ -f "$f" ]
    ok $? "installed ${f#"$T"/}"
done
[ "$(stat -c %a "$KEY" 2>/dev/null)" = 600 ] && [ "$(wc -c < "$KEY")" -ge 32 ]
ok $? "the recipient key is made, mode 0600"
left=$(grep -v '^[[:space:]]*#' "$CONF" | grep -nE '"(unix:)?/(usr/local|run|var/log)/')
[ -n "$left" ] && echo "$left" | sed 's/^/# /'
ok $([ -z "$left" ]; echo $?) "no path of the default layout is left in the installed configuration"
grep -q "path = \"$T/etc/ses-milter/identities\"" "$CONF" &&
    grep -q "plugin_dir = \"$P/lib/ses-milter/plugins\"" "$CONF"
ok $? "the installed configuration names the installed identity list and plugin directory"
for m in man8/ses-milter.8 man5/ses-milter.conf.5 man1/ses-milter-audit.1 man1/ses-milter-token.1; do
    cmp -s "$P/share/man/$m" "$BUILD/man/${m#*/}"
    ok $? "the installed $m is the page built with the configured directories"
done

[ $spool = 1 ] || echo "# no /var/spool/postfix: the sample's socket directory cannot be made"
# dirof GROUP NAME - the directory of a path setting of the installed configuration
dirof() {
    local v
    v=$(sed -n "/^$1: *{/,/^};/s/^ *$2 *= *\"\(unix:\)\{0,1\}\([^\"]*\)\";.*/\2/p" "$CONF" | head -1)
    dirname "$v"
}
sockdir=$(dirof daemon socket)
[ "$(stat -c '%U:%G %a' "$sockdir" 2>/dev/null)" = "ses-milter:postfix 750" ]
ok $? "the socket's directory $sockdir is made, ses-milter:postfix 0750"
[ "$(stat -c '%U %a' "$(dirof audit file)" 2>/dev/null)" = "ses-milter 750" ]
ok $? "the audit trail's directory is made, owned by ses-milter, 0750"
[ -d "$(dirof daemon pid_file)" ]
ok $? "the PID file's directory is made"
"$P/sbin/ses-milter" -n -c "$CONF" > "$T/n.out" 2> "$T/n.err"
ok $? "ses-milter -n on the installed configuration exits 0"
[ -s "$T/n.err" ] && sed 's/^/# -n: /' "$T/n.err"
res=$(start "$CONF")
echo "$res" | grep -qx "up=1"
ok $? "ses-milter starts on the installed configuration and opens its socket"
echo "$res" | grep -qx "stopped=0"
ok $? "and stops on SIGTERM with status 0"
echo "$res" | grep -qx "up=1" || sed 's/^/# run: /' "$T/run.log" 2>/dev/null | tail -20

echo "# edited" >> "$CONF"
echo "edited.example" >> "$IDS"
sum=$(md5sum "$KEY")
install 2
ok $? "a second make install succeeds"
tail -1 "$CONF" | grep -qx "# edited" && tail -1 "$IDS" | grep -qx "edited.example"
ok $? "a second make install keeps the edited configuration and identity list"
[ "$(md5sum "$KEY")" = "$sum" ]
ok $? "a second make install keeps the recipient key"
grep -q "KEEP .*ses-milter.conf" "$T/install2.log"
ok $? "make install says it kept the configuration"

make -s -C "$BUILD" uninstall "${DIRS[@]}" > "$T/uninstall.log" 2>&1
ok $? "make uninstall succeeds"
[ -f "$CONF" ] && [ -f "$IDS" ] && [ -f "$KEY" ] && [ ! -e "$P/sbin/ses-milter" ] &&
    [ ! -e "$DOC/README.md" ] && [ ! -e "$DOC/contrib/postfix/main.cf.snippet" ]
ok $? "make uninstall keeps the edited configuration and removes the rest"
[ ! -e "$sockdir" ]
ok $? "make uninstall removes the socket's directory it made"

echo "1..$n"
[ "$fails" -eq 0 ]
