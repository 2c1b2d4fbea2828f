#!/bin/bash
# conf_listen.sh - the metrics group: off by default, and metrics.listen checked
#
# Proves: without a metrics group the daemon opens no TCP listener at all (in the
# private network namespace nothing else listens); "metrics { }" listens on
# 127.0.0.1:9465 (loopback by default); every malformed metrics.listen is refused by
# ses-milter -n with "file:line: metrics.listen: reason" (exit 78); an address that
# is in use fails the start with the reason; a port below 1024 is bound as root and
# served by the daemon running as nobody, and a reload to another such port (which
# nobody cannot bind) keeps the old listener and says that a restart applies it.
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"

conf() { tb_milter_conf "$W/milter.conf" <<<"$1"; }

conf ''
tb_start_milter "$W/milter.conf" || exit 1
sleep 0.3
tb_check "off by default: no TCP listener" test -z "$(ss -Hltn)"
tb_stop_milter

conf 'metrics: { };'
tb_start_milter "$W/milter.conf" || exit 1
tb_wait_port 9465
tb_check "metrics { }: loopback 127.0.0.1:9465 only" test "$(ss -Hltn | awk '{print $4}')" = 127.0.0.1:9465
tb_stop_milter

conf 'metrics: { listen = "127.0.0.1:94"; };'
tb_start_milter "$W/milter.conf" || exit 1
tb_wait_port 94
tb_check "port 94: bound as root, served by the daemon running as nobody" \
    bash -c "[ \"\$(ps -o user= -p $TB_MILTER_PID)\" = nobody ] && curl -sf http://127.0.0.1:94/metrics | grep -q '^ses_milter_build_info'"
conf 'metrics: { listen = "127.0.0.1:95"; };'
kill -HUP "$TB_MILTER_PID"
for _ in $(seq 100); do grep -q 'restart applies the new address' "$W/milter.log" && break; sleep 0.05; done
tb_check "a reload to port 95 (root only) says a restart applies it" \
    grep -q 'metrics.listen 127.0.0.1:95: cannot listen: Permission denied; still serving on 127.0.0.1:94 until a restart applies the new address' "$W/milter.log"
tb_check "and the old listener still serves" bash -c "curl -sf http://127.0.0.1:94/metrics | grep -q '^ses_milter_reloads_total{result=\"success\"} 1'"
tb_stop_milter

# the table: listen value, what the reason says (the listen line is the 12th: 11 of daemon and log before it)
line=12
while IFS='|' read -r listen why; do
    conf "metrics: {
  listen = $listen;
};"
    out=$("$SM_BUILDDIR/ses-milter" -n -c "$W/milter.conf" 2>&1 >/dev/null); rc=$?
    tb_check "listen = $listen: refused (78) with file:line: $why" \
        test "$rc: $out" = "78: ses-milter: $W/milter.conf:$line: $why"
done <<'EOT'
"localhost:9465"|metrics.listen: 'localhost:9465': 'localhost' is not an IPv4 address
"127.0.0.1"|metrics.listen: '127.0.0.1' is not ADDRESS:PORT (an IPv4 address, or [IPv6 address])
"127.0.0.1:0"|metrics.listen: '127.0.0.1:0': the port must be a number from 1 to 65535
"127.0.0.1:65536"|metrics.listen: '127.0.0.1:65536': the port must be a number from 1 to 65535
"127.0.0.1:x"|metrics.listen: '127.0.0.1:x': the port must be a number from 1 to 65535
"::1:9465"|metrics.listen: '::1:9465' is not ADDRESS:PORT (an IPv4 address, or [IPv6 address])
"[::1]9465"|metrics.listen: '[::1]9465' is not [IPv6 address]:PORT
"[nope]:9465"|metrics.listen: '[nope]:9465': 'nope' is not an IPv6 address
":9465"|metrics.listen: ':9465': no address before the port
9465|'metrics.listen' must be a string, not an integer
EOT
conf 'metrics: { listen = "[::1]:9465"; enabled = true; };'
tb_check "listen = [::1]:9465 is accepted" bash -c "'$SM_BUILDDIR/ses-milter' -n -c '$W/milter.conf' >/dev/null 2>&1"
tb_check "ses-milter -n prints the effective setting" \
    bash -c "'$SM_BUILDDIR/ses-milter' -n -c '$W/milter.conf' 2>/dev/null | grep -qF 'metrics.listen = \"[::1]:9465\";'"

python3 -c 'import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", 9465)); s.listen(1); time.sleep(30)' &
TB_PIDS+=($!)
tb_wait_port 9465
conf 'metrics: { listen = "127.0.0.1:9465"; };'
out=$(timeout 20 "$SM_BUILDDIR/ses-milter" -f -c "$W/milter.conf" 2>&1); rc=$?
tb_check "an address in use fails the start, with the reason" \
    bash -c "[ $rc = 1 ] && grep -q 'metrics.listen 127.0.0.1:9465: cannot listen: Address already in use' <<<'$out'"
tb_done
