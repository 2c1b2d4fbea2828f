#!/bin/bash
# redis_store.sh - the unsubscribe store on a real redis-server: the loop across two hosts
#
# swaks -> Postfix :10025 [ses-milter host A] / :10026 [ses-milter host B] -> smtp-sink;
# ses-milter-unsubscribe (host A's configuration) on 127.0.0.1:8058; one redis-server on
# loopback (AOF on, ACL user with HSETNX/HEXISTS only) holding unsubscribe.store_backend =
# "redis" for all three.  Proves:
#   - a message via host A carries the one-click URL; its POST to the endpoint is 200 and
#     lands in Redis under ses-milter:v1:unsub:LIST (field the recipient, value the time);
#   - the next message of that list to that recipient via host B is dropped (store_action),
#     another recipient and another list are delivered, B's audit record says why;
#   - the same POST again is 200 "Already unsubscribed" and changes nothing (HSETNX);
#   - a reload of host B keeps the Redis store (its password file served by the helper);
#   - Redis down: the endpoint answers 503 with Retry-After (never 200 for what it could
#     not record), host B (store_unavailable = "accept") delivers the list's mail unchecked
#     and logs that once, host A (the default, "tempfail") defers it (451);
#   - Redis restarted: the record is still there (B drops again), "back" is logged once,
#     a new POST is 200 and honoured;
#   - Redis slow (DEBUG SLEEP beyond timeout_ms): B accepts, A defers, the endpoint says 503.
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"

D="$SM_BUILDDIR/ses-milter-unsubscribe"
[ -x "$D" ] || { echo "SKIP: ses-milter-unsubscribe not built (no libmicrohttpd)"; exit 77; }
grep -q '^S\["HAVE_HIREDIS_TRUE"\]=""' "$SM_BUILDDIR/config.status" || { echo "SKIP: built without hiredis"; exit 77; }
command -v redis-server >/dev/null || { echo "SKIP: redis-server missing"; exit 77; }
RPORT=6391
RCLI=(redis-cli -p "$RPORT" --no-auth-warning --user admin --pass adm1n)
REDIS=("enable-debug-command local" "appendonly yes" "appendfsync always" "user default off" "user admin on >adm1n ~* +@all"
       "user unsub on >uns-pw ~ses-milter:v1:unsub:* +hsetnx +hexists")
"$SM_BUILDDIR/ses-milter-token" genkey "$W/unsub.key" >/dev/null || exit 1
printf 'uns-pw\n' > "$W/redis.pw"; chmod 600 "$W/redis.pw"

# conf HOST UNAVAILABLE - host's configuration (its own socket, pid file and audit file)
conf() {
    tb_milter_conf "$W/milter-$1.conf" <<EOC
scope: { internal_networks = [ "127.0.0.0/8" ]; };
audit: { file = "$W/audit-$1.jsonl"; recipients = "plain"; };
state: { backend = "redis"; address = "127.0.0.1:$RPORT"; user = "unsub";
         password_file = "$W/redis.pw"; timeout_ms = 200; };
unsubscribe: {
  token_key_file = "$W/unsub.key";
  store_backend = "redis";
  store_action = "drop";
  store_unavailable = "$2";
  endpoint_listen = "127.0.0.1:8058";
  rules = ( { name = "news"; senders = [ "news.example.com" ];
              url = "https://example.com/unsubscribe/%{token}"; multi_recipient = "skip"; },
            { name = "promo"; senders = [ "promo.example.com" ];
              url = "https://example.com/unsubscribe/%{token}"; multi_recipient = "skip"; } );
};
EOC
    sed -i "s|$W/run/milter.sock|$W/run/$1.sock|; s|$W/run/milter.pid|$W/run/$1.pid|" "$W/milter-$1.conf"
}
# start HOST - one ses-milter with its configuration
start() {
    rm -f "$W/run/$1.sock"
    "$SM_BUILDDIR/ses-milter" -f -c "$W/milter-$1.conf" >> "$W/$1.log" 2>&1 &
    eval "PID_$1=\$!"; TB_PIDS+=($!)
    for _ in $(seq 400); do [ -S "$W/run/$1.sock" ] && return 0; sleep 0.05; done
    echo "ses-milter $1 did not open its socket"; cat "$W/$1.log"; return 1
}
tb_start_redis "$RPORT" "${REDIS[@]}" || exit 1
conf a tempfail; conf b accept
start a || exit 1; start b || exit 1
TB_MASTER_EXTRA="127.0.0.1:10026 inet n - n - - smtpd -o smtpd_milters=unix:$W/run/b.sock"
tb_start_postfix "smtpd_milters = unix:$W/run/a.sock" "non_smtpd_milters = unix:$W/run/a.sock" || exit 1
tb_wait_port 10026 || exit 1
"$D" -c "$W/milter-a.conf" > "$W/unsubd.log" 2>&1 & UPID=$!; TB_PIDS+=($UPID)
tb_wait_port 8058 || { cat "$W/unsubd.log"; exit 1; }

body_of() { grep -l "X-Marker: $1\$" "$W"/capture/* 2>/dev/null | head -1; }
# send HOST LIST TO MARKER - one message of LIST (news|promo) through host a or b
send() {
    local port=10025; [ "$1" = b ] && port=10026
    timeout 30 swaks --server 127.0.0.1 --port "$port" --timeout 20 --from "letters@$2.example.com" \
        --to "$3" --h-From "Letters <letters@$2.example.com>" --header "X-Marker: $4" --body "issue $4" 2>&1
}
wait_marker() { for _ in $(seq 100); do [ -n "$(body_of "$1")" ] && return 0; sleep 0.1; done; return 1; }
# post MARKER - one-click POST to the URL of the captured message; prints the HTTP code
post() {
    local f url
    f=$(body_of "$1"); url=$(sed -n 's/^List-Unsubscribe: <\(https:[^>]*\)>.*/\1/p' "$f" | head -1)
    curl -s -m 10 -D "$W/post.hdr" -o "$W/post.out" -w '%{http_code}' -d List-Unsubscribe=One-Click \
        "http://127.0.0.1:8058/${url#https://*/}"
}

# 1. message via host A -> header -> POST -> recorded in Redis
send a news alice@example.org n1 >/dev/null
tb_check "host A delivers the first issue with a one-click URL" wait_marker n1
send a promo alice@example.org p1 >/dev/null
tb_check "host A delivers a promo issue to alice too" wait_marker p1
tb_check "the POST of the news URL to the endpoint is answered 200" test "$(post n1)" = 200
tb_check "... and recorded in Redis under ses-milter:v1:unsub:news" \
    test "$("${RCLI[@]}" HEXISTS ses-milter:v1:unsub:news alice@example.org)" = 1
when=$("${RCLI[@]}" HGET ses-milter:v1:unsub:news alice@example.org)
tb_check "... with the time of the POST" test "$when" -gt $(( $(date +%s) - 600 )) -a "$when" -le "$(date +%s)"
code=$(post n1)
tb_check "the same POST again is 200 'Already unsubscribed'" \
    bash -c "test '$code' = 200 && grep -q 'Already unsubscribed' '$W/post.out'"
tb_check "... and changes nothing (the first time stays)" \
    test "$("${RCLI[@]}" HGET ses-milter:v1:unsub:news alice@example.org)" = "$when"

# 2. the next message via host B is handled: dropped; others are delivered
out=$(send b news alice@example.org b1)
tb_check "host B accepts the SMTP transaction" grep -q '250 2.0.0 Ok: queued' <<<"$out"
send b news bob@example.org b2 >/dev/null
send b promo alice@example.org b3 >/dev/null
tb_check "host B: news to bob (another recipient) is delivered" wait_marker b2
tb_check "host B: promo to alice (another list) is delivered" wait_marker b3
tb_check "host B: news to alice is not delivered (dropped)" test -z "$(body_of b1)"
tb_check "host B logs the drop with the list" grep -q 'unsubscribed from list news.*: drop' "$W/b.log"
tb_check "host B's audit record says why" \
    grep -Eq '"unsubscribed":\{"list_id":"news","store_action":"drop","rcpt_count":1\},("account":null,)?"action":"discard"' "$W/audit-b.jsonl"

# 2b. a reload of host B (unprivileged daemon: the root-only password file served by the helper)
kill -HUP "$PID_b"
for _ in $(seq 100); do grep -q 'reloaded\|reload refused' "$W/b.log" && break; sleep 0.05; done
tb_check "host B reloads with store_backend = redis" grep -q 'configuration .* reloaded' "$W/b.log"
send b news alice@example.org h1 >/dev/null; send b news bob@example.org h2 >/dev/null
wait_marker h2 && got=1 || got=0
tb_check "after the reload host B still drops news to alice (bob's is delivered)" \
    test "$got/$(body_of h1)" = 1/

# 3. Redis down
tb_stop_redis
code=$(post p1)
tb_check "Redis down: the endpoint answers 503, not 200" test "$code" = 503
tb_check "... with Retry-After" grep -qi '^Retry-After: [0-9]' "$W/post.hdr"
tb_check "... and logs why" grep -q 'cannot record an unsubscription: the Redis store is unavailable' "$W/unsubd.log"
out=$(send b news alice@example.org d1); send b news carol@example.org d2 >/dev/null
tb_check "Redis down, host B (accept): news to alice is accepted" grep -q '250 2.0.0 Ok: queued' <<<"$out"
tb_check "... and delivered unchecked (mail is not lost)" wait_marker d1
tb_check "... as is news to carol" wait_marker d2
tb_check "... logged once, not per message" \
    test "$(grep -c 'unsubscribe store redis cannot answer: mail of the unsubscribe rules is accepted unchecked' "$W/b.log")" = 1
tb_check "... the Redis outage logged once, saying what it means" \
    test "$(grep -c 'state: Redis 127.0.0.1:[0-9]* down: .*the unsubscribe store cannot be checked' "$W/b.log")" = 1
tb_check "... the audit record says unchecked" grep -q '"store_action":"unchecked"' "$W/audit-b.jsonl"
out=$(send a news alice@example.org d3)
tb_check "Redis down, host A (tempfail, the default): the list's mail is deferred (451)" grep -q '451 4.3.0' <<<"$out"

# 4. Redis restarted: the record survived, lookups and POSTs work again.  Until host B's
# backoff lets it try Redis again its messages are still unchecked: send until it answers.
tb_start_redis "$RPORT" "${REDIS[@]}" || exit 1
for i in $(seq 60); do
    out=$(send b news alice@example.org "r1-$i"); grep -q 'answers again' "$W/b.log" && break; sleep 0.2
done
send b news bob@example.org r0 >/dev/null
wait_marker r0 && got=1 || got=0
tb_check "Redis back: host B accepts the transaction" grep -q '250 2.0.0 Ok: queued' <<<"$out"
tb_check "... and drops news to alice again (the record survived the restart; bob's delivered)" \
    test "$got/$(body_of "r1-$i")" = 1/
tb_check "... 'answers again' logged once" test "$(grep -c 'unsubscribe store redis answers again' "$W/b.log")" = 1
tb_check "... 'back' logged once" test "$(grep -c 'state: Redis [^ ]* back$' "$W/b.log")" = 1
code=000; for _ in $(seq 60); do code=$(post p1); [ "$code" = 200 ] && break; sleep 0.2; done
tb_check "Redis back: the promo POST is answered 200" test "$code" = 200
send b promo alice@example.org r2 >/dev/null; send b promo bob@example.org r3 >/dev/null
wait_marker r3 && got=1 || got=0
tb_check "... and host B honours it at once (promo to bob delivered, to alice not)" \
    test "$got/$(body_of r2)" = 1/
# 5. a slow Redis (DEBUG SLEEP, longer than timeout_ms): the lookup gives up, the message is
# handled as when Redis is down (B delivers unchecked, A defers); the endpoint answers 503
"${RCLI[@]}" DEBUG SLEEP 3 >/dev/null & SLEEPER=$!
for _ in $(seq 50); do timeout 0.3 "${RCLI[@]}" PING >/dev/null 2>&1 || break; done # asleep
out=$(send b news alice@example.org w1)
tb_check "Redis slow, host B (accept): news to alice is accepted" grep -q '250 2.0.0 Ok: queued' <<<"$out"
tb_check "... and delivered unchecked (she is unsubscribed: only an unanswered lookup lets it by)" wait_marker w1
out=$(send a news alice@example.org w2)
tb_check "Redis slow, host A (tempfail): news to alice is deferred (451)" grep -q '451 4.3.0' <<<"$out"
code=$(post n1)
tb_check "Redis slow: the endpoint answers 503, not 200" test "$code" = 503
tb_check "Redis slow: host B logged the timeout as down" grep -q 'state: Redis [^ ]* down: .*\(timed out\|temporarily unavailable\)' "$W/b.log"
wait "$SLEEPER"

tb_check "no secret in any log" bash -c "! grep -q uns-pw '$W'/*.log"

kill "$UPID"; wait "$UPID"; rc=$?
tb_check "ses-milter-unsubscribe stops with exit 0" test "$rc" = 0
tb_check "no sanitizer report in any log" bash -c "! grep -q 'Sanitizer' '$W'/*.log"
tb_done
