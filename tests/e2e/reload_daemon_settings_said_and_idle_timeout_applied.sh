#!/bin/bash
# reload_daemon_settings_said_and_idle_timeout_applied.sh - what a SIGHUP does with the
# daemon settings a running daemon cannot change
#
# Proves: after a reload that changes daemon.socket and daemon.milter_timeout (300 -> 1),
# the log says the socket change waits for a restart (and the socket stays where it was,
# still serving), and the new milter_timeout closes an idle milter connection within a
# bounded wait (before, idle connections kept the start's 300 s until a restart and the
# socket change was dropped without a word).
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"

mkdir -p "$W/plugins"
install -m 644 "$SM_BUILDDIR/plugins/file/.libs/file.so" "$W/plugins/"
printf 'example.com\n' > "$W/identities"
conf() { # conf TIMEOUT SOCKET
    tb_milter_conf "$W/milter.conf" <<EOC
identity: {
  plugin_dir = "$W/plugins";
  sources = ( { name = "local"; plugin = "file"; path = "$W/identities"; } );
};
EOC
    sed -i "s|^  socket = .*|  socket = \"unix:$2\";\n  milter_timeout = $1;|" "$W/milter.conf"
}
conf 300 "$W/run/milter.sock"
tb_start_milter "$W/milter.conf" || exit 1
tb_start_postfix || exit 1
conf 1 "$W/run/other.sock"
kill -HUP "$TB_MILTER_PID"
wait_log() { for _ in $(seq 100); do grep -Eq "$1" "$W/milter.log" && return 0; sleep 0.1; done; return 1; }
tb_check "reload: the configuration was reloaded" wait_log 'configuration .* reloaded'
tb_check "reload: the socket change is said to wait for a restart" \
    wait_log 'reload: daemon.socket changed; it takes effect at the next restart'
tb_check "reload: the new milter_timeout is said to apply to idle connections" \
    wait_log 'reload: daemon.milter_timeout 1 s: idle milter connections are closed'
tb_check "reload: the socket stays where it was" test -S "$W/run/milter.sock"
tb_check "reload: no socket at the new path until a restart" test ! -e "$W/run/other.sock"
# idle_closed SOCK - connect and say nothing: 0 when the daemon closes it within 15 s
idle_closed() {
    timeout 30 python3 - "$1" <<'EOP'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(15)
try:
    sys.exit(0 if s.recv(1) == b"" else 1)
except (socket.timeout, TimeoutError):
    sys.exit(1)
except ConnectionResetError:
    sys.exit(0)
EOP
}
tb_check "after the reload: an idle milter connection is closed (milter_timeout = 1)" \
    idle_closed "$W/run/milter.sock"
tb_check "after the reload: mail still flows through the old socket" \
    grep -q '^<- *250 .*queued' <<<"$(tb_swaks --from a@example.com --to b@example.org --header 'From: a@example.com' --body x)"
tb_stop_milter
tb_done
