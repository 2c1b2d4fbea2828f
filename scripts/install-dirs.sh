#!/bin/sh
# install-dirs.sh - the directories an installed configuration needs, for make install
#
# usage: install-dirs.sh install|uninstall DESTDIR CONF OURS...
#
# Reads the unix socket, the PID file and the audit trail from CONF (the installed
# configuration, under DESTDIR) and makes the directory of each, as the start needs
# them ("ses-milter -n" checks that they exist):
#   - under one of OURS (runstatedir, localstatedir): with its parents;
#   - elsewhere (the socket in Postfix's queue directory): the last component only,
#     and only when its parent exists - another package's directory is never made.
# As root and without DESTDIR, the socket's directory gets daemon.socket_group and
# mode 0750, and the socket's and the audit trail's directories the run user
# (daemon.user) as owner when it exists, as contrib/systemd/ses-milter.tmpfiles
# gives them.  uninstall removes each directory made here when it is empty.
# Errors in ownership are reported, not fatal: -n says what is still missing.
set -u
mode=$1 destdir=$2 conf=$3
shift 3

[ -f "$conf" ] || exit 0
# val GROUP NAME - a string setting of the installed configuration ("" when unset)
val() {
    sed -n "/^$1: *{/,/^};/s/^ *$2 *= *\"\\([^\"]*\\)\";.*/\\1/p" "$conf" | head -1
}
sock=$(val daemon socket)
case $sock in unix:/* | local:/*) sock=/${sock#*:/} ;; /*) ;; *) sock= ;; esac
pid=$(val daemon pid_file)
audit=$(val audit file)
user=$(val daemon user)
[ -n "$user" ] || user=ses-milter
group=$(val daemon socket_group)

# ours PATH - 0 when PATH is under one of the directories given as OURS
ours() {
    for d in $OURS; do
        case $1 in "$d"/*) return 0 ;; esac
    done
    return 1
}
OURS=$*

for what in sock pid audit; do
    eval "path=\$$what"
    [ -n "$path" ] || continue
    dir=$(dirname "$path")
    if [ "$mode" = uninstall ]; then
        rmdir "$destdir$dir" 2>/dev/null
        continue
    fi
    [ -d "$destdir$dir" ] && continue
    if ours "$dir"; then
        mkdir -p "$destdir$dir" || exit 1
    elif [ -d "$destdir$(dirname "$dir")" ]; then
        mkdir "$destdir$dir" || exit 1
    else
        echo "  SKIP     $dir: $(dirname "$dir") does not exist (the MTA is not installed?)"
        continue
    fi
    echo "  MKDIR    $destdir$dir"
    [ -z "$destdir" ] && [ "$(id -u)" = 0 ] || continue
    case $what in
    sock)
        chmod 0750 "$dir"
        [ -n "$group" ] && getent group "$group" >/dev/null && chgrp "$group" "$dir"
        id "$user" >/dev/null 2>&1 && chown "$user" "$dir"
        ;;
    audit)
        chmod 0750 "$dir"
        id "$user" >/dev/null 2>&1 && chown "$user" "$dir"
        ;;
    esac
done
exit 0
