#!/bin/bash
# abort_table.sh - end to end: every SMTP path through a real Postfix ends somewhere
#
# Proves, for each row of the table: a transaction ended at that step (TCP
# connected before the greeting, after the greeting, EHLO, MAIL, the first
# RCPT, the second RCPT, DATA, one header line, half the body, end of
# message; or its only RCPT refused by Postfix) by QUIT, RSET, a dropped TCP
# connection (RST) or a second MAIL, in each scope (inbound = outside client
# via XCLIENT ADDR, internal network, authenticated via XCLIENT LOGIN, local
# submission through sendmail(1) and non_smtpd_milters, killed mid-input or
# refused by postdrop or cleanup), leaves ses-milter up (same PID, no crash
# in its log), the next message from the same scope is accepted and relayed,
# an outgoing transaction that reached MAIL FROM and was not completed has
# exactly one audit record with action=aborted outcome=aborted (inbound:
# none), a completed one exactly one completed record, and nothing aborted
# is relayed.  One Postfix and one ses-milter serve the whole table; the
# records are counted once every row has run, so a record written twice
# later (at QUIT, at close) is caught too.  The SMTP client is
# abort_client.py.  In Postfix, headers and body reach the milter only from
# cleanup once the message is complete, so a client lost mid-headers or
# mid-body is an abort after DATA for the milter (tests/milter/cases/
# abort_table.lua drives the milter steps themselves).
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"
CLIENT="python3 $SM_SRCDIR/tests/e2e/abort_client.py"

mkdir -p "$W/plugins" "$W/audit"; chown nobody:nogroup "$W/audit"
install -m 644 "$SM_BUILDDIR/plugins/file/.libs/file.so" "$W/plugins/"
echo "example.com" > "$W/identities"
AUDIT=$W/audit/audit.jsonl
tb_milter_conf "$W/milter.conf" <<EOC
scope: { internal_networks = [ "127.0.0.0/8" ]; };
identity: {
  plugin_dir = "$W/plugins";
  sources = ( { name = "local"; plugin = "file"; path = "$W/identities"; } );
};
audit: { file = "$AUDIT"; recipients = "plain"; fsync = "never"; };
EOC
tb_start_milter "$W/milter.conf" || exit 1
echo '/^X-Refuse: yes/ REJECT refused by header_checks' > "$W/header_checks"
tb_start_postfix "smtpd_recipient_restrictions = check_recipient_access inline:{ refused@example.org=REJECT }" \
    "header_checks = regexp:$W/header_checks" "message_size_limit = 200000" || exit 1
P=$W/pf/etc
PID0=$TB_MILTER_PID
RESTARTS=0

# daemon_up - same process, no crash in its log; sets DOWN to what is wrong (else empty)
# and restarts a dead daemon (counted) so that the rest of the table still says something
daemon_up() {
    DOWN=
    kill -0 "$PID0" 2>/dev/null || DOWN="process $PID0 gone"
    [ "$(cat "$W/run/milter.pid" 2>/dev/null)" = "$PID0" ] || DOWN="${DOWN:-pid file changed}"
    if [ "$(grep -Ec 'AddressSanitizer|runtime error:|SIGSEGV|Segmentation fault|core dumped' "$W/milter.log")" != "$CRASHES" ]; then
        CRASHES=$(grep -Ec 'AddressSanitizer|runtime error:|SIGSEGV|Segmentation fault|core dumped' "$W/milter.log")
        DOWN="${DOWN:+$DOWN, }crash in the log"
    fi
    if ! kill -0 "$PID0" 2>/dev/null; then
        RESTARTS=$((RESTARTS + 1))
        wait "$PID0" 2>/dev/null; TB_MILTER_PID=
        tb_start_milter "$W/milter.conf" >/dev/null && PID0=$TB_MILTER_PID
    fi
    [ -z "$DOWN" ]
}
CRASHES=0

# captured MARKER - the relayed message with this marker (bounces, which quote it, do not count)
captured() {
    local f
    for f in $(grep -lx "X-Marker: $1" "$W"/capture/* 2>/dev/null); do
        grep -q '^X-Mail-Args: <> ' "$f" || { echo "$f"; return; }
    done
}

# rows: NAME|SENDER|MARKER|EXPECT (aborted, completed, relayed = inbound, no record; none)|DOWN (daemon_up failure or empty)
ROWS=()
N=0
row_smtp() { # row_smtp SCOPE XCLIENT STOP END EXPECT
    local scope=$1 xc=$2 stop=$3 end=$4 expect=$5 name out down
    N=$((N + 1))
    local s="r$N.$scope@example.com" m="m$N"
    case $stop in
        greeting) name="$scope/drop-before-greeting" ;;
        refused) name="$scope/$end-after-refused-rcpt" ;;
        *) name="$scope/$end-after-$stop" ;;
    esac
    out=$($CLIENT row 10025 "$stop" "$end" "$s" "$m" ${xc:+--xclient "$xc"} --next "n$N.$scope@example.com" 2>&1)
    daemon_up; down=$DOWN
    grep -q '^error:' <<<"$out" && down="${down:+$down; }client: $(grep '^error:' <<<"$out" | head -1)"
    ROWS+=("$name|$s|$m|$expect|$down")
}

for sc in "inbound|ADDR=198.51.100.7" "internal|" "authenticated|ADDR=203.0.113.9 LOGIN=alice"; do
    scope=${sc%%|*}; xc=${sc#*|}
    ab=aborted; done_=completed
    [ "$scope" = inbound ] && ab=none && done_=relayed
    row_smtp "$scope" "$xc" greeting drop none
    for end in quit rset drop; do
        row_smtp "$scope" "$xc" connect "$end" none
        row_smtp "$scope" "$xc" helo "$end" none
        for stop in mail rcpt1 rcpt2; do row_smtp "$scope" "$xc" "$stop" "$end" "$ab"; done
    done
    for stop in data header body; do row_smtp "$scope" "$xc" "$stop" drop "$ab"; done
    for end in quit rset drop; do row_smtp "$scope" "$xc" eom "$end" "$done_"; done
    for end in quit rset drop; do row_smtp "$scope" "$xc" refused "$end" "$ab"; done
    row_smtp "$scope" "$xc" refused mail "$done_"
done

# local submission: sendmail(1) -> postdrop -> pickup -> cleanup (non_smtpd_milters)
local_msg() { # local_msg SENDER MARKER [extra header]
    printf 'From: <%s>\nSubject: abort table %s\nX-Marker: %s\n%s\nbody of %s\n' "$1" "$2" "$2" "${3:+$3
}" "$2"
}
local_next() { # local_next N - the next local message, from nN.local@example.com
    local_msg "n$1.local@example.com" "m$1-next" | timeout 20 sendmail -C "$P" -f "n$1.local@example.com" bob@example.org
}
# local_killed N WHAT - sendmail killed (SIGKILL) with part of the message written
local_killed() {
    local s=$1 part=$2 pid sm= pd=
    rm -f "$W/fifo"; mkfifo "$W/fifo"
    timeout 20 sendmail -C "$P" -f "$s" bob@example.org < "$W/fifo" & pid=$!
    exec 7> "$W/fifo"
    printf '%s' "$part" >&7
    # timeout(1) runs sendmail, sendmail runs postdrop: find both (bounded)
    for _ in $(seq 100); do
        sm=$(pgrep -P "$pid" | head -1); [ -n "$sm" ] && pd=$(pgrep -P "$sm" | head -1)
        [ -n "$pd" ] && break; sleep 0.02
    done
    sleep 0.2
    [ -n "$sm" ] && kill -9 "$sm"
    exec 7>&-
    wait "$pid" 2>/dev/null
    # postdrop sees its input end early and gives up by itself
    for _ in $(seq 100); do [ -n "$pd" ] && kill -0 "$pd" 2>/dev/null || break; sleep 0.05; done
}
row_local() { # row_local NAME EXPECT ACTION...
    local name=$1 expect=$2 down; shift 2
    N=$((N + 1))
    local s="r$N.local@example.com" m="m$N"
    "$@" "$s" "$m" >/dev/null 2>&1
    local_next "$N" >/dev/null 2>&1 || down="the next local message was not accepted by sendmail"
    daemon_up; down="${down:+$down; }$DOWN"
    ROWS+=("local/$name|$s|$m|$expect|${down#; }")
}
l_whole() { local_msg "$1" "$2" | timeout 20 sendmail -C "$P" -f "$1" bob@example.org; }
l_kill_hdr() { local_killed "$1" "From: <$1>
Subject: abort table $2
"; }
l_kill_body() { local_killed "$1" "$(local_msg "$1" "$2")
and more body, never finished
"; }
l_oversize() { # more than message_size_limit: postdrop stops at the file size limit
    { local_msg "$1" "$2"; head -c 300000 /dev/zero | tr '\0' 'x' | fold -w 70; } |
        timeout 20 sendmail -C "$P" -f "$1" bob@example.org
    [ $? != 0 ]
}
l_hdrcheck() { local_msg "$1" "$2" "X-Refuse: yes" | timeout 20 sendmail -C "$P" -f "$1" bob@example.org; }
row_local sendmail-completes completed l_whole
row_local sendmail-killed-mid-headers none l_kill_hdr
row_local sendmail-killed-mid-body none l_kill_body
row_local postdrop-refuses-oversized none l_oversize
row_local cleanup-header-checks-reject aborted l_hdrcheck

# every next message relayed: bounded wait until all of them reached smtp-sink
for _ in $(seq 150); do
    [ "$(cat "$W"/capture/* 2>/dev/null | grep -cx 'X-Marker: m[0-9]*-next')" -ge "$N" ] && break
    sleep 0.2
done
sleep 0.3

# the records of every row's sender and of its next message's sender, counted in one pass
declare -A REC
addrs=()
for r in "${ROWS[@]}"; do IFS='|' read -r _ s _ <<<"$r"; addrs+=("$s" "n${s#r}"); done
while read -r a rest; do REC[$a]=$rest; done < <($CLIENT count "$AUDIT" "${addrs[@]}")
for r in "${ROWS[@]}"; do
    IFS='|' read -r name s m expect down <<<"$r"
    nscope=${s#*.}; nscope=${nscope%@*}
    read -r cnt ab done_ scopes <<<"${REC[$s]}"
    read -r ncnt nab ndone nscopes <<<"${REC[n${s#r}]}"
    why=$down
    add() { why="${why:+$why; }$1"; }
    case $expect in
        aborted) [ "$cnt/$ab/$done_" = 1/1/0 ] || add "records $cnt (aborted $ab, completed $done_), want 1 aborted"
            proves="aborted record" ;;
        completed) [ "$cnt/$ab/$done_" = 1/0/1 ] || add "records $cnt (aborted $ab, completed $done_), want 1 completed"
            [ -n "$(captured "$m")" ] || add "the completed message was not relayed"
            proves="one completed record, none aborted" ;;
        relayed) [ "$cnt" = 0 ] || add "$cnt records, want none"
            [ -n "$(captured "$m")" ] || add "the message was not relayed"
            proves="relayed, no record" ;;
        none) [ "$cnt" = 0 ] || add "$cnt records, want none"
            proves="no record" ;;
    esac
    [ "$expect" != completed ] && [ "$expect" != relayed ] && [ -n "$(captured "$m")" ] && add "the ended transaction was relayed"
    [ -n "$(captured "$m-next")" ] || add "the next message was not relayed"
    case $nscope in internal) want=internal-network ;; local) want=local-submission ;; *) want=$nscope ;; esac
    [ "$cnt" = 0 ] || [ "$scopes" = "$want" ] || add "records with scope $scopes, want $want"
    [ "${ncnt:-0}" = 0 ] || [ "$nscopes" = "$want" ] || add "the next message's record has scope $nscopes, want $want"
    if [ "$nscope" = inbound ]; then
        [ "$ncnt" = 0 ] || add "the next (inbound) message has $ncnt records"
    else
        [ "$ncnt/$ndone" = 1/1 ] || add "the next message has $ncnt records ($ndone completed), want 1"
    fi
    if [ -z "$why" ]; then
        tb_ok "$name: daemon up, next served, $proves"
    else
        tb_nok "$name: $why"
    fi
done
tb_check "the daemon ran the whole table as one process (restarts: $RESTARTS)" test "$RESTARTS" = 0
tb_check "nothing left in the maildrop queue" test -z "$(ls "$W/pf/spool/maildrop" 2>/dev/null)"
tb_done
