#!/bin/bash
# sighup_under_load_keeps_serving.sh - SIGHUPs (reloads) while messages flow through Postfix
#
# Proves: a reload never interrupts service: with SIGHUPs spread over the run
# no message is tempfailed, refused or dropped, the daemon stays up and keeps
# its socket, the reloads are logged, every relayed message was checked, and
# the next message is served.  Short: 40 SIGHUPs (in pairs) / 500 messages; soak
# (SM_FAULT_SOAK=1): 200 SIGHUPs / 10,000 messages.
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"
. "$SM_SRCDIR/tests/faults/lib.sh"

# SIGHUPs come in bursts of BURST back to back (as from a config tool run twice): a
# signal that arrives while the main thread is busy with the previous one must
# still be a reload
if [ "$FL_SOAK" = 1 ]; then N=10000 HUPS=200; else N=500 HUPS=40; fi
BURST=${SM_FAULT_HUP_BURST:-2}
fl_standard_bed || exit 1

fl_client hup "$N" 4 --from a@faults.example --from b@faults.example
sock_ok() { timeout 2 python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' "$W/run/milter.sock" 2>/dev/null; }
steps=$((HUPS / BURST)) step=$((N / (HUPS / BURST + 1))) sent_hups=0 gone_at=
for ((i = 1; i <= steps; i++)); do
    fl_wait_progress hup $((i * step)) 120 || break
    fl_alive || break
    # the socket must still be there from the previous burst
    sock_ok || { [ -z "$gone_at" ] && gone_at=$sent_hups; }
    for ((j = 0; j < BURST; j++)); do kill -HUP "$TB_MILTER_PID"; sent_hups=$((sent_hups + 1)); done
done
sleep 1
sock_ok || { [ -z "$gone_at" ] && gone_at=$sent_hups; }
fl_client_wait
fl_drain
fl_tally sighup hup --audit "$W/audit/audit.jsonl" || exit 1
fl_assert_books sighup
reloads=$(grep -c 'reloaded (version' "$W/milter.log")
echo "SIGHUPs sent: $sent_hups, reloads logged: $reloads, socket gone after SIGHUP number: ${gone_at:-never}"
tb_check "sighup: all $HUPS SIGHUPs were sent to a running daemon" test "$sent_hups" = "$HUPS"
tb_check "sighup: the socket still accepts connections after every SIGHUP" test -z "$gone_at"
tb_check "sighup: reloads were logged ($reloads) and none refused" \
    bash -c "[ $reloads -ge 1 ] && ! grep -q 'reload refused' '$W/milter.log'"
tb_check "sighup: no message tempfailed, refused or dropped ($FL_tempfailed/$FL_refused/$FL_dropped)" \
    test "$FL_tempfailed" = 0 -a "$FL_refused" = 0 -a "$FL_dropped" = 0
tb_check "sighup: every message was accepted ($FL_accepted of $N)" test "$FL_accepted" = "$N"
fl_probe "sighup: after the reloads"
tb_done
