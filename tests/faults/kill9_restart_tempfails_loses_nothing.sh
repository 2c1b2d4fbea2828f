#!/bin/bash
# kill9_restart_tempfails_loses_nothing.sh - kill -9 of ses-milter under load, then a restart
#
# Proves: while ses-milter is gone, Postfix (milter_default_action =
# tempfail) answers 4xx and the client keeps those messages; every message
# the client saw accepted is relayed or still queued, every relayed one was
# checked by the milter (summary line + audit record for its queue id), and
# the restarted daemon serves the next message.  Short: 300 messages, 2 kills;
# soak (SM_FAULT_SOAK=1): 5000 messages, 10 kills.
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"
. "$SM_SRCDIR/tests/faults/lib.sh"

if [ "$FL_SOAK" = 1 ]; then N=5000 KILLS=10; else N=300 KILLS=2; fi
fl_standard_bed || exit 1

fl_client k9 "$N" 4 --from a@faults.example --from b@faults.example
step=$((N / (KILLS + 1)))
for ((i = 1; i <= KILLS; i++)); do
    fl_wait_progress k9 $((i * step)) 120 || break
    fl_kill9
    # down while at least 10 more messages are tried, then back
    fl_wait_progress k9 $((i * step + 10)) 60
    fl_restart "$W/milter.conf" || break
done
fl_client_wait
fl_drain
fl_tally kill9 k9 --audit "$W/audit/audit.jsonl" || exit 1
fl_assert_books kill9
tb_check "kill9: the daemon was killed and restarted $KILLS times" test "$FL_restarts" = "$KILLS"
tb_check "kill9: Postfix tempfailed while the daemon was down (tempfailed = $FL_tempfailed > 0)" \
    test "$FL_tempfailed" -gt 0
tb_check "kill9: a dead milter never refuses (refused = 0) nor drops a session (dropped = 0)" \
    test "$FL_refused" = 0 -a "$FL_dropped" = 0
fl_probe "kill9: after the last restart"
tb_done
