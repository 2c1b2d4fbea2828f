#!/bin/bash
# idle_connections_dropped.sh - daemon.milter_timeout closes milter connections that idle
#
# 200 connections to the milter socket (milter_timeout = 2 s): 100 never send a byte,
# 100 negotiate and then say nothing.  Proves: the daemon holds a descriptor for each
# while they idle, closes every one of them once they idled for milter_timeout (its
# descriptor count drops back; each client reads end of file), and then serves a message.
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"
tb_milter_conf "$W/milter.conf" <<'EOC'
scope: { internal_networks = [ "10.0.0.0/8" ]; };
identity: {
  plugin_dir = "@WORK@/plugins";
  sources = ( { name = "t"; plugin = "plugin_test"; answers = "a@example.com=verified"; } );
};
EOC
sed -i "s|shutdown_timeout = 5;|shutdown_timeout = 5;\n  milter_timeout = 2;|; s|@WORK@|$W|g" "$W/milter.conf"
mkdir -p "$W/plugins" && chmod 755 "$W/plugins"
install -m 644 -o root -g root "$SM_BUILDDIR/tests/unit/.libs/plugin_test.so" "$W/plugins/"
TB_PASS=0 TB_FAIL=0
tb_start_milter "$W/milter.conf" || exit 1
pid=$TB_MILTER_PID
for _ in $(seq 40); do grep -q "started on" "$W/milter.log" && break; sleep 0.05; done
fds() { ls /proc/"$pid"/fd | wc -l; }
base=$(fds)

# the idle clients: python holds the sockets and reports, after the daemon closed them,
# how many read end of file; it writes "open" once all 200 are connected
python3 - "$W/run/milter.sock" "$W/idle.out" <<'PY' &
import socket, struct, sys, time
path, out = sys.argv[1], sys.argv[2]
socks = []
for i in range(200):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    if i % 2:  # negotiate (protocol 6, every action and step offered), then idle
        s.sendall(struct.pack(">IcIII", 13, b"O", 6, 0x1FF, 0x1FFFFF))
    socks.append(s)
time.sleep(0.5)
for i, s in enumerate(socks):  # drain the negotiate replies
    if i % 2:
        s.settimeout(5); s.recv(4096)
open(out, "w").write("open\n")
eof = 0
for s in socks:
    s.settimeout(15)
    try:
        while True:
            d = s.recv(4096)
            if not d:
                eof += 1
                break
    except OSError:
        pass
open(out, "a").write("eof %d\n" % eof)
PY
py=$!
for _ in $(seq 100); do grep -q open "$W/idle.out" 2>/dev/null && break; sleep 0.05; done
held=$(fds)
echo "daemon descriptors: $base at start, $held with 200 idle clients"
tb_check "the daemon holds a descriptor per idle connection" test "$held" -ge $((base + 200))
for _ in $(seq 200); do [ "$(fds)" -le $((base + 2)) ] && break; sleep 0.05; done
after=$(fds)
echo "daemon descriptors after milter_timeout: $after"
tb_check "idle connections are closed after milter_timeout" test "$after" -le $((base + 2))
for _ in $(seq 300); do grep -q eof "$W/idle.out" && break; sleep 0.05; done
kill "$py" 2>/dev/null; wait "$py" 2>/dev/null
echo "clients that read end of file: $(grep eof "$W/idle.out")"
tb_check "every idle client reads end of file" grep -q "eof 200" "$W/idle.out"

cat > "$W/next.lua" <<'LUA'
local T = dofile(LIB)
T.case("a message after the idle connections", function()
  local c, r = T.send{ ip = "10.0.0.5", qid = "IDLE1", from = "<a@example.com>",
                       headers = {{ "From", "a@example.com" }} }
  T.expect_accept(r, "the message after the idle connections")
  T.expect(T.log_has("IDLE1: action=accept outcome=completed", true), "not served")
  mt.disconnect(c)
end)
LUA
out=$(timeout 60 miltertest -D SOCK="unix:$W/run/milter.sock" -D LIB="$SM_SRCDIR/tests/milter/lib.lua" \
    -D LOG="$W/milter.log" -D PIDFILE="$W/run/milter.pid" -D CONF="$W/milter.conf" \
    -D WORK="$W" -s "$W/next.lua" 2>&1)
echo "$out"
tb_check "a message is served after the idle connections" grep -q "^PASS " <<<"$out"
tb_check "the daemon stops on SIGTERM" tb_stop_milter
tb_done
