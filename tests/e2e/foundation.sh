#!/bin/bash
# foundation.sh - end to end: swaks -> real Postfix -> ses-milter -> smtp-sink
#
# Proves: outgoing mail (authenticated via XCLIENT LOGIN, internal network,
# local sendmail(1) submission) reaches ses-milter and is logged with the
# Postfix queue id; inbound mail from an outside client is left alone; when
# ses-milter is down, Postfix (milter_default_action = tempfail) answers 4xx
# and nothing is lost.
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"

tb_milter_conf "$W/milter.conf" <<'EOC'
scope: { internal_networks = [ "127.0.0.0/8", "::1/128" ]; };
EOC
tb_start_milter "$W/milter.conf" || exit 1
tb_start_postfix || exit 1

queued_id() { sed -n 's/.*250 2.0.0 Ok: queued as \([0-9A-Za-z]*\).*/\1/p' <<<"$1" | head -1; }

# 1. authenticated client (XCLIENT LOGIN sets {auth_authen}) from an outside address
out=$(tb_swaks --xclient "ADDR=203.0.113.9 LOGIN=alice" --from alice@example.com \
      --to bob@example.org --h-From "Alice <alice@example.com>" --body "hello")
qid=$(queued_id "$out")
tb_check "authenticated client's mail is queued" test -n "$qid"
tb_check "ses-milter logs it with the Postfix queue id as outgoing (authenticated)" \
    grep -q "$qid: action=accept outcome=completed scope=authenticated" "$W/milter.log"

# 2. internal network client (127.0.0.1, no XCLIENT)
out=$(tb_swaks --from carol@example.com --to bob@example.org --h-From carol@example.com --body x)
qid=$(queued_id "$out")
tb_check "internal client's mail is logged as outgoing (internal-network)" \
    grep -q "$qid: action=accept outcome=completed scope=internal-network" "$W/milter.log"

# 3. inbound from an outside client: passes untouched, logged at debug only
out=$(tb_swaks --xclient-addr 198.51.100.7 --from x@outside.example --to bob@example.org \
      --h-From x@outside.example --header "X-Marker: inbound-1" --body x)
qid=$(queued_id "$out")
tb_check "inbound mail is accepted" test -n "$qid"
tb_check "inbound mail is logged at debug as not outgoing" grep -q "$qid: not outgoing" "$W/milter.log"
tb_check "inbound mail has no summary line (not gated)" bash -c "! grep -q '$qid: action=' '$W/milter.log'"
tb_wait_capture 3
f=$(grep -l "inbound-1" "$W"/capture/* 2>/dev/null | head -1)
tb_check "inbound mail reaches the relay" test -n "$f"

# 4. local submission through sendmail(1) -> pickup -> cleanup (non_smtpd_milters)
echo "Subject: local
From: root@example.com

local body" | timeout 20 sendmail -C "$W/pf/etc" -f root@example.com bob@example.org
for _ in $(seq 100); do grep -q "scope=local-submission" "$W/milter.log" && break; sleep 0.1; done
tb_check "sendmail(1) submission is outgoing (local-submission)" \
    grep -Eq "^.*\] [0-9A-F]+: action=accept outcome=completed scope=local-submission|[0-9A-Za-z]+: action=accept outcome=completed scope=local-submission" "$W/milter.log"

# 5. ses-milter down: Postfix tempfails, the client keeps the message
tb_stop_milter
tb_check "ses-milter stops cleanly on SIGTERM (exit 0)" test "${TB_MILTER_RC:-1}" = 0
before=$(tb_captured)
out=$(tb_swaks --from alice@example.com --to bob@example.org --body "while down")
tb_check "milter down: the client gets 451 4.7.1" grep -q '<\*\* 451 4.7.1' <<<"$out"
sleep 1
tb_check "milter down: nothing reaches the relay" test "$(tb_captured)" = "$before"

# 6. back up: mail flows again
tb_start_milter "$W/milter.conf" || exit 1
out=$(tb_swaks --from alice@example.com --to bob@example.org --body "after restart")
tb_check "after restart mail is queued again" grep -q '250 2.0.0 Ok: queued' <<<"$out"

tb_done
