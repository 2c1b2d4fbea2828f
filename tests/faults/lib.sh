#!/bin/bash
# lib.sh - shared steps of the fault suite (tests/faults/*.sh): counted mail through real Postfix
#
# Sourced after tests/lib/testbed.sh, inside its namespace.  A fault test
# starts ses-milter and Postfix (milter_default_action = tempfail), runs the
# counted client (smtpcount.py) in the background, injects its fault while
# the mail flows (timed by the client's progress, never by the clock alone),
# then tallies (tally.py) what the client saw against what Postfix relayed or
# holds and what ses-milter logged, prints the COUNTS line and asserts:
#   accepted = relayed + held (no message lost, none relayed twice),
#   nothing relayed that the client did not see accepted,
#   0 relayed unchecked (a summary line, and with audit on an audit record,
#   for every relayed queue id), no daemon exit the test did not cause,
#   and the daemon (or its restart) serves the next message.
#
#   fl_identities FILE DOMAIN...  write a file-source identity list
#   fl_start NAME CONF            start ses-milter; NAME labels it in the counts
#   fl_alive                      the daemon still runs (else counts a crash)
#   fl_kill9 / fl_restart CONF    kill -9 the daemon (counted as a restart) / start it again
#   fl_client TAG N CONC ARGS...  start the counted client in the background
#   fl_wait_progress TAG N SECS   wait until N of TAG's messages are done (bounded)
#   fl_client_wait                wait for the client (bounded by its own timeouts)
#   fl_drain                      wait (bounded) until Postfix's active queue is empty
#   fl_tally FAULT TAG [--audit]  print the counts, set FL_* variables
#   fl_assert_books FAULT         the invariants above, from the FL_* variables
#   fl_probe LABEL [FROM]         one more message: 250, relayed, with its summary line
#   fl_probe_until LABEL SECS     the same once a bounded wait lets the fault's recovery finish
# SM_FAULT_SOAK=1 selects the long variants (make soak); FL_SOAK is 1 then.

FL_SOAK=${SM_FAULT_SOAK:-0}
[ -n "${SM_TB_KEEP:-}" ] && echo "work dir (kept): $W"
FL_RESTARTS=0
FL_CRASHES=0
FL_CLIENT_PID=
FL_DIR="$SM_SRCDIR/tests/faults"

fl_identities() { # fl_identities FILE DOMAIN...
    local f=$1; shift
    printf '%s\n' "$@" > "$f"
    chmod 644 "$f"
}

fl_start() { # fl_start CONF
    tb_start_milter "$1"
}

# fl_alive - 0 when the daemon runs; a daemon that exited on its own is a crash (counted once)
fl_alive() {
    [ -n "$TB_MILTER_PID" ] && kill -0 "$TB_MILTER_PID" 2>/dev/null && return 0
    if [ -n "$TB_MILTER_PID" ]; then
        wait "$TB_MILTER_PID" 2>/dev/null
        echo "ses-milter (pid $TB_MILTER_PID) exited on its own, status $?"
        FL_CRASHES=$((FL_CRASHES + 1))
        TB_MILTER_PID=
    fi
    return 1
}

fl_kill9() {
    fl_alive || return 0
    kill -9 "$TB_MILTER_PID"
    wait "$TB_MILTER_PID" 2>/dev/null
    TB_MILTER_PID=
    FL_RESTARTS=$((FL_RESTARTS + 1))
}

fl_restart() { # fl_restart CONF - start again after fl_kill9 (or a crash)
    fl_alive && return 0
    tb_start_milter "$1"
}

fl_client() { # fl_client TAG N CONC [smtpcount.py args...]
    local tag=$1 n=$2 conc=$3; shift 3
    rm -f "$W/prog-$tag"
    timeout 1200 python3 "$FL_DIR/smtpcount.py" --tag "$tag" --count "$n" --conc "$conc" \
        --out "$W/res-$tag.tsv" --progress "$W/prog-$tag" --timeout 20 "$@" \
        > "$W/client-$tag.log" 2>&1 &
    FL_CLIENT_PID=$!
    TB_PIDS+=("$FL_CLIENT_PID")
}

fl_progress() { cat "$W/prog-$1" 2>/dev/null || echo 0; }

fl_wait_progress() { # fl_wait_progress TAG N SECS
    local i
    for ((i = 0; i < $3 * 20; i++)); do
        [ "$(fl_progress "$1")" -ge "$2" ] && return 0
        kill -0 "$FL_CLIENT_PID" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

fl_client_wait() {
    wait "$FL_CLIENT_PID"
    local rc=$?
    [ "$rc" = 0 ] || { echo "counted client failed ($rc)"; cat "$W/client-$FL_CLIENT_TAG.log" 2>/dev/null; }
    FL_CLIENT_PID=
    return "$rc"
}

fl_drain() { # wait until nothing is in Postfix's incoming/active queues (bounded, 60 s)
    local i
    for ((i = 0; i < 600; i++)); do
        [ -z "$(find "$W/pf/spool/incoming" "$W/pf/spool/active" -type f 2>/dev/null | head -1)" ] && return 0
        sleep 0.1
    done
    echo "Postfix's queue did not drain in 60 s"
    return 1
}

fl_tally() { # fl_tally FAULT TAG [--audit FILE]
    local out
    fl_alive >/dev/null
    out=$(python3 "$FL_DIR/tally.py" --fault "$1" --tag "$2" --results "$W/res-$2.tsv" \
        --capture "$W/capture" --spool "$W/pf/spool" --log "$W/milter.log" \
        --restarts "$FL_RESTARTS" --crashes "$FL_CRASHES" "${@:3}") || { echo "$out"; return 1; }
    sed '/^--$/,$d' <<<"$out"
    eval "$(sed '1,/^--$/d' <<<"$out")"
}

fl_assert_books() { # fl_assert_books FAULT - the invariants every fault must keep
    tb_check "$1: every message sent has an outcome (sent = accepted + tempfailed + refused + dropped)" \
        test "$FL_sent" = $((FL_accepted + FL_tempfailed + FL_refused + FL_dropped))
    tb_check "$1: accepted = relayed + held ($FL_accepted = $FL_relayed + $FL_held), none missing" \
        test "$FL_missing" = 0 -a "$FL_accepted" = $((FL_relayed + FL_held))
    tb_check "$1: nothing relayed that the client did not see accepted, nothing relayed twice" \
        test "$FL_unexpected" = 0 -a "$FL_duplicates" = 0 -a "$FL_mismatched_qid" = 0
    tb_check "$1: 0 relayed unchecked (each relayed queue id has the milter's summary line)" \
        test "$FL_unchecked" = 0
    tb_check "$1: no daemon exit the test did not cause (crashes = $FL_CRASHES)" test "$FL_CRASHES" = 0
}

FL_PROBES=0
fl_probe() { # fl_probe LABEL [FROM] - the daemon serves the next message: 250, relayed, summarised
    local from=${2:-probe@faults.example} out qid f
    FL_PROBES=$((FL_PROBES + 1))
    out=$(tb_swaks --from "$from" --to bob@example.org --h-From "$from" \
        --header "X-Probe: $1-$FL_PROBES" --body "probe")
    qid=$(sed -n 's/.*250 2.0.0 Ok: queued as \([0-9A-Za-z]*\).*/\1/p' <<<"$out" | head -1)
    if [ -z "$qid" ]; then
        tb_nok "$1: the next message is served (250): got $(grep -E '<\*\* [45]' <<<"$out" | head -1)"
        return 1
    fi
    for _ in $(seq 100); do
        f=$(grep -l "X-Probe: $1-$FL_PROBES\$" "$W"/capture/* 2>/dev/null | head -1)
        [ -n "$f" ] && break
        sleep 0.1
    done
    if [ -n "$f" ] && grep -q "\b$qid: action=" "$W/milter.log"; then
        tb_ok "$1: the next message is served (250, relayed, summary line for $qid)"
    else
        tb_nok "$1: the next message ($qid) was relayed with its summary line"
        return 1
    fi
}

# fl_probe_until LABEL SECS [FROM] - like fl_probe, after a bounded wait for the first 250
# (for faults whose recovery is deliberately delayed, e.g. a back-off after throttling)
fl_probe_until() {
    local i from=${3:-probe@faults.example} out
    for ((i = 0; i < $2; i++)); do
        out=$(tb_swaks --from "$from" --to bob@example.org --h-From "$from" --body "wait $i")
        grep -q '250 2.0.0 Ok: queued' <<<"$out" || { sleep 1; continue; }
        echo "$1: first 250 after $i s"
        fl_probe "$1" "$from"
        return
    done
    tb_nok "$1: no message served within $2 s"
}

# fl_milter_conf FILE [extra sections on stdin] - the fault suite's daemon config
fl_milter_conf() {
    mkdir -p "$W/plugins" "$W/audit"
    chmod 755 "$W/plugins"
    chown nobody:nogroup "$W/audit"
    install -m 644 -o root -g root "$SM_BUILDDIR/plugins/file/.libs/file.so" "$W/plugins/" 2>/dev/null
    install -m 644 -o root -g root "$SM_BUILDDIR/plugins/ses/.libs/ses.so" "$W/plugins/" 2>/dev/null
    tb_milter_conf "$1"
}

# fl_standard_bed - the common set-up: identities for faults.example, internal-network
# scope, the file source, a plain audit log; ses-milter and Postfix started, and the
# first message proved to be served
fl_standard_bed() {
    fl_identities "$W/identities" faults.example
    fl_milter_conf "$W/milter.conf" <<EOC
scope: { internal_networks = [ "127.0.0.0/8" ]; };
identity: { plugin_dir = "$W/plugins";
  sources = ( { name = "local"; plugin = "file"; path = "$W/identities"; } ); };
audit: { file = "$W/audit/audit.jsonl"; recipients = "plain"; fsync = "never"; };
EOC
    fl_start "$W/milter.conf" || return 1
    tb_start_postfix || return 1
    fl_probe "before the faults"
}
