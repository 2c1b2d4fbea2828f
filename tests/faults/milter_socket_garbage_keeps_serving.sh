#!/bin/bash
# milter_socket_garbage_keeps_serving.sh - garbage, truncated, oversized and out-of-order packets
#
# While Postfix sends counted mail through ses-milter, a raw client
# (rawmilter.py cases) sends every malformed-packet case of its table on
# its own connections.  Proves: the daemon never exits, still negotiates after
# every case, and Postfix's mail is untouched by it (no tempfail, refusal or
# drop; accepted = relayed + held; 0 relayed unchecked); the next message is
# served.  Short: each case once, 200 messages; soak (SM_FAULT_SOAK=1): each
# case 50 times, 3000 messages.
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"
. "$SM_SRCDIR/tests/faults/lib.sh"
if [ "$FL_SOAK" = 1 ]; then N=3000 ROUNDS=50; else N=200 ROUNDS=1; fi

fl_standard_bed || exit 1

# paced so that the mail flows for as long as the garbage does
fl_client garbage "$N" 2 --pause-ms 20 --from a@faults.example --from b@faults.example
timeout 900 python3 "$FL_DIR/rawmilter.py" cases --sock "$W/run/milter.sock" --rounds "$ROUNDS" \
    > "$W/raw.out" 2>&1
raw_rc=$?
cat "$W/raw.out"
fl_client_wait
fl_drain
fl_tally garbage garbage --audit "$W/audit/audit.jsonl" || exit 1
fl_assert_books garbage
tb_check "garbage: the milter negotiated again after every case (rawmilter exit $raw_rc)" test "$raw_rc" = 0
tb_check "garbage: all $(python3 -c "import sys; sys.path.insert(0, '$FL_DIR'); import rawmilter; print(len(rawmilter.CASES))") cases were sent" \
    test "$(grep -c '^case .*healthy_after=yes' "$W/raw.out")" = \
    "$(python3 -c "import sys; sys.path.insert(0, '$FL_DIR'); import rawmilter; print(len(rawmilter.CASES))")"
tb_check "garbage: the daemon is still the same process" fl_alive
tb_check "garbage: Postfix's mail was untouched: all $N accepted (tempfailed $FL_tempfailed, refused $FL_refused, dropped $FL_dropped)" \
    test "$FL_accepted" = "$N"
fl_probe "garbage: after the storm"
tb_done
