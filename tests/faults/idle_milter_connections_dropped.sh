#!/bin/bash
# idle_milter_connections_dropped.sh - 500 milter connections that never speak
#
# daemon.milter_timeout = 3.  500 connections are opened on the milter socket
# (100 of them negotiate first), then fall silent, while Postfix sends counted
# mail.  Proves: the idle connections do not starve Postfix's mail (all
# accepted, relayed, checked), the daemon closes every idle connection once
# milter_timeout has passed (bounded wait: 5 x milter_timeout), and the next
# message is served.  Short: 500 idle, 100 messages; soak (SM_FAULT_SOAK=1):
# 3 waves of 500 idle, 2000 messages.
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"
. "$SM_SRCDIR/tests/faults/lib.sh"
if [ "$FL_SOAK" = 1 ]; then N=2000 WAVES=3; else N=100 WAVES=1; fi
IDLE=500 TIMEOUT=3
# each idle connection is one descriptor in the client and one in the daemon
[ "$(ulimit -n)" -ge $((IDLE + 200)) ] || ulimit -n $((IDLE + 200)) ||
    { echo "SKIP: cannot raise the descriptor limit to $((IDLE + 200))"; exit 77; }

fl_identities "$W/identities" faults.example
fl_milter_conf "$W/milter.conf" <<EOC
scope: { internal_networks = [ "127.0.0.0/8" ]; };
identity: { plugin_dir = "$W/plugins";
  sources = ( { name = "local"; plugin = "file"; path = "$W/identities"; } ); };
audit: { file = "$W/audit/audit.jsonl"; recipients = "plain"; fsync = "never"; };
EOC
sed -i "s/^  shutdown_timeout = 5;/  shutdown_timeout = 5;\n  milter_timeout = $TIMEOUT;\n  backlog = 1024;/" "$W/milter.conf"
fl_start "$W/milter.conf" || exit 1
tb_start_postfix || exit 1
fl_probe "before the faults" || exit 1

fds() { ls "/proc/$TB_MILTER_PID/fd" 2>/dev/null | wc -l; }
fd0=$(fds)
for ((wave = 1; wave <= WAVES; wave++)); do
    rm -f "$W/idle.ready"
    timeout $((TIMEOUT * 5 + 60)) python3 "$FL_DIR/rawmilter.py" idle --sock "$W/run/milter.sock" \
        --count "$IDLE" --negotiated 100 --wait $((TIMEOUT * 5)) --ready "$W/idle.ready" \
        > "$W/idle-$wave.out" 2>&1 &
    idle_pid=$!
    TB_PIDS+=("$idle_pid")
    for _ in $(seq 600); do [ -s "$W/idle.ready" ] && break; sleep 0.05; done
    fd_idle=$(fds)
    fl_client "idle$wave" $((N / WAVES)) 2 --from a@faults.example --from b@faults.example
    fl_client_wait
    wait "$idle_pid"
    idle_rc=$?
    cat "$W/idle-$wave.out"
    echo "daemon descriptors: $fd0 before, $fd_idle with the idle connections open, $(fds) after"
    tb_check "idle wave $wave: all $IDLE connections were opened" grep -q "opened=$IDLE " "$W/idle-$wave.out"
    tb_check "idle wave $wave: the daemon closed every idle connection within $((TIMEOUT * 5)) s (milter_timeout = $TIMEOUT)" \
        test "$idle_rc" = 0
    fl_drain
    fl_tally idle "idle$wave" --audit "$W/audit/audit.jsonl" || exit 1
    fl_assert_books "idle wave $wave"
    tb_check "idle wave $wave: idle connections do not starve mail: all $((N / WAVES)) accepted" \
        test "$FL_accepted" = $((N / WAVES))
done
tb_check "idle: the daemon's descriptors are back to where they were ($(fds) <= $fd0 + 5)" \
    test "$(fds)" -le $((fd0 + 5))
fl_probe "idle: after the idle connections"
tb_done
