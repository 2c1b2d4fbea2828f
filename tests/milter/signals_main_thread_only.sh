#!/bin/bash
# signals_main_thread_only.sh - HUP, TERM, INT and USR1 reach the main thread only
#
# libmilter's own signal thread waits for HUP, TERM and INT and stops libmilter on
# them; the kernel hands a process-directed signal to any thread that waits for it.
# Proves: (1) exactly one thread of the running daemon waits in sigtimedwait, the
# main thread; (2) SIGTERM right behind SIGUSR1, and right behind SIGHUP, stops the
# daemon within daemon.shutdown_timeout (5 s here), 5 runs of 5 each, with exit status 0
# (a signal sent as soon as the socket exists is taken, not fatal) and libmilter stopped
# (smfi_stop() did not wait for libmilter's accept loop, the daemon did not exit with
# libmilter's threads running).
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"
tb_milter_conf "$W/milter.conf" <<'EOC'
scope: { internal_networks = [ "10.0.0.0/8" ]; };
EOC
TB_PASS=0 TB_FAIL=0

# (1) which threads wait for signals: /proc/PID/task/TID/wchan names the kernel's wait
tb_start_milter "$W/milter.conf" || exit 1
pid=$TB_MILTER_PID
for _ in $(seq 40); do grep -q "started on" "$W/milter.log" && break; sleep 0.05; done
sleep 0.3
waiters=$(for t in /proc/"$pid"/task/*; do
    grep -q sigtimedwait "$t/wchan" 2>/dev/null && basename "$t"; done | tr '\n' ' ')
echo "threads waiting for signals: ${waiters:-none} (main thread $pid)"
tb_check "only the main thread waits for signals" test "$waiters" = "$pid "
tb_check "no warning about libmilter's signal thread" \
    bash -c "! grep -q \"signal thread did not\" '$W/milter.log'"
tb_stop_milter

# (2) SIGTERM while the main thread is still busy with the signal before it
for first in USR1 HUP; do
    stopped=0 clean=0
    for run in 1 2 3 4 5; do
        tb_start_milter "$W/milter.conf" || exit 1
        pid=$TB_MILTER_PID
        kill -"$first" "$pid"; kill -TERM "$pid"
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
        if kill -0 "$pid" 2>/dev/null; then
            echo "run $run: SIG$first then SIGTERM: still running after 5 s"
            kill -9 "$pid"
        else
            stopped=$((stopped + 1))
        fi
        wait "$pid" 2>/dev/null
        rc=$?
        [ "$rc" = 0 ] && clean=$((clean + 1)) || echo "run $run: SIG$first then SIGTERM: exit status $rc"
        TB_MILTER_PID=
    done
    echo "SIG$first then SIGTERM: stopped in $stopped of 5 runs, exit status 0 in $clean"
    tb_check "SIG$first then SIGTERM stops the daemon (5 of 5)" test "$stopped" -eq 5
    tb_check "SIG$first then SIGTERM: exit status 0 (5 of 5)" test "$clean" -eq 5
done
tb_check "libmilter stopped at every SIGTERM (no 'did not stop' warning)" \
    bash -c "! grep -q 'libmilter did not stop' '$W/milter.log'"
tb_done
