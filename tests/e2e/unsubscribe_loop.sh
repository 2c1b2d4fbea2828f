#!/bin/bash
# unsubscribe_loop.sh - end to end: message -> List-Unsubscribe -> one-click POST -> next message
#
# swaks -> Postfix :10025 [ses-milter] -> smtp-sink; ses-milter-unsubscribe on 127.0.0.1:8058
# (the reverse proxy's upstream: the https URL's path is POSTed to it with curl).
# Proves, for each unsubscribe.store_action: the List-Unsubscribe URL captured at the
# sink, POSTed with List-Unsubscribe=One-Click, is answered 200 and recorded; then the
# next message of that list to that recipient is
#   drop:   not delivered (discarded; with a second recipient only that one is removed),
#   reject: refused 550 5.7.1 naming the list,
#   tag:    delivered with X-SES-Milter-Unsubscribed,
# while the same list to another recipient and another list to the same recipient are
# delivered untouched; the audit record says why ("unsubscribed"); and a store that has
# become a symbolic link is not read: the list's mail is deferred (451), not sent.
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"

D="$SM_BUILDDIR/ses-milter-unsubscribe"
[ -x "$D" ] || { echo "SKIP: ses-milter-unsubscribe not built (no libmicrohttpd)"; exit 77; }
"$SM_BUILDDIR/ses-milter-token" genkey "$W/unsub.key" >/dev/null || exit 1
# the store: written by the endpoint (root here), read by ses-milter (nobody:nogroup)
install -m 640 -g nogroup /dev/null "$W/unsubscribed"

# milter_conf ACTION - the milter's (and the endpoint's) configuration
milter_conf() {
    tb_milter_conf "$W/milter.conf" <<EOC
scope: { internal_networks = [ "127.0.0.0/8" ]; };
audit: { file = "$W/audit.jsonl"; recipients = "plain"; };
unsubscribe: {
  token_key_file = "$W/unsub.key";
  store_file = "$W/unsubscribed";
  store_action = "$1";
  store_refresh_ms = 0;
  endpoint_listen = "127.0.0.1:8058";
  rules = ( { name = "news"; senders = [ "news.example.com" ];
              url = "https://example.com/unsubscribe/%{token}"; multi_recipient = "skip"; },
            { name = "promo"; senders = [ "promo.example.com" ];
              url = "https://example.com/unsubscribe/%{token}"; multi_recipient = "skip"; } );
};
EOC
}
milter_conf drop
tb_start_milter "$W/milter.conf" || exit 1
tb_start_postfix || exit 1
"$D" -c "$W/milter.conf" > "$W/unsubd.log" 2>&1 & UPID=$!; TB_PIDS+=($UPID)
tb_wait_port 8058 || { cat "$W/unsubd.log"; exit 1; }

body_of() { grep -l "X-Marker: $1\$" "$W"/capture/* 2>/dev/null | head -1; }
# send LIST TO MARKER [more swaks args] - one message of LIST (news|promo); prints swaks' output
send() {
    local list=$1 to=$2 marker=$3; shift 3
    tb_swaks --from "letters@$list.example.com" --to "$to" --h-From "Letters <letters@$list.example.com>" \
        --header "X-Marker: $marker" --body "issue $marker" "$@"
}
# wait_marker MARKER - until the sink has it (bounded)
wait_marker() { for _ in $(seq 100); do [ -n "$(body_of "$1")" ] && return 0; sleep 0.1; done; return 1; }
# unsubscribe MARKER - POST one-click to the URL of the captured message; prints the HTTP code
unsubscribe() {
    local f url
    f=$(body_of "$1"); url=$(sed -n 's/^List-Unsubscribe: <\(https:[^>]*\)>.*/\1/p' "$f" | head -1)
    curl -s -m 10 -o "$W/post.out" -w '%{http_code}' -d List-Unsubscribe=One-Click \
        "http://127.0.0.1:8058/${url#https://*/}"
}

# 1. the first issue carries the header; its URL is POSTed
send news alice@example.org n1 >/dev/null
tb_check "first news issue delivered with a List-Unsubscribe URL" wait_marker n1
tb_check "its URL is one-click https" grep -q '^List-Unsubscribe: <https://example.com/unsubscribe/' "$(body_of n1)"
tb_check "the one-click POST to that URL is answered 200" test "$(unsubscribe n1)" = 200
tb_check "the store records alice for news" grep -qP '\tnews\talice@example.org$' "$W/unsubscribed"

# 2. drop: the next issue to alice is not delivered, others are
out=$(send news alice@example.org d1)
tb_check "drop: the SMTP client sees the message accepted" grep -q '250 2.0.0 Ok: queued' <<<"$out"
send news bob@example.org d2 >/dev/null
send promo alice@example.org d3 >/dev/null
send news alice@example.org d4 --to alice@example.org,bob@example.org >/dev/null
tb_check "drop: news to bob (another recipient) is delivered" wait_marker d2
tb_check "drop: promo to alice (another list) is delivered" wait_marker d3
tb_check "drop: news to alice and bob reaches the sink" wait_marker d4
tb_check "drop: news to alice is not delivered" test -z "$(body_of d1)"
f=$(body_of d4)
tb_check "drop: of alice and bob only bob is left" bash -c "grep -q 'bob@example.org' '$f' && ! grep -q '^X-Rcpt-Args: <alice@' '$f'"
tb_check "drop: the drop is logged with the list" grep -q 'unsubscribed from list news.*: drop' "$W/milter.log"
tb_check "drop: the audit record says why" grep -q '"unsubscribed":{"list_id":"news","store_action":"drop","rcpt_count":1}' "$W/audit.jsonl"
tb_check "drop: the discarded message's action is discard" grep -Eq '"store_action":"drop","rcpt_count":1\},("account":null,)?"action":"discard"' "$W/audit.jsonl"

# 3. reject
tb_stop_milter; milter_conf reject; tb_start_milter "$W/milter.conf" || exit 1
out=$(send news alice@example.org r1)
tb_check "reject: news to alice is refused 550 5.7.1" grep -q '550 5.7.1' <<<"$out"
tb_check "reject: the reply names the list" grep -q 'unsubscribed from list news' <<<"$out"
send news bob@example.org r2 >/dev/null; send promo alice@example.org r3 >/dev/null
tb_check "reject: news to bob is delivered" wait_marker r2
tb_check "reject: promo to alice is delivered" wait_marker r3
tb_check "reject: the audit record says why" grep -Eq '"store_action":"reject","rcpt_count":1\},("account":null,)?"action":"reject"' "$W/audit.jsonl"

# 4. tag
tb_stop_milter; milter_conf tag; tb_start_milter "$W/milter.conf" || exit 1
send news alice@example.org t1 >/dev/null; send news bob@example.org t2 >/dev/null
tb_check "tag: news to alice is delivered" wait_marker t1
tb_check "tag: ... with X-SES-Milter-Unsubscribed naming the list" grep -q '^X-SES-Milter-Unsubscribed: list=news; recipients=1' "$(body_of t1)"
tb_check "tag: news to bob is delivered" wait_marker t2
tb_check "tag: ... without the tag" bash -c "! grep -q '^X-SES-Milter-Unsubscribed' '$(body_of t2)'"

# 5. a POST for promo, through the same loop, takes effect without a restart
tb_check "promo: alice's one-click POST from the promo issue she got is 200" test "$(unsubscribe d3)" = 200
send promo alice@example.org t3 >/dev/null
tb_check "promo: the next promo issue to alice is tagged (store re-read)" \
    bash -c "for _ in \$(seq 100); do f=\$(grep -l 'X-Marker: t3\$' '$W'/capture/* 2>/dev/null); [ -n \"\$f\" ] && break; sleep 0.1; done; grep -q '^X-SES-Milter-Unsubscribed: list=promo' \"\$f\""

# 6. the store replaced by a symbolic link: not read, the list's mail is deferred
mv "$W/unsubscribed" "$W/unsubscribed.real"; ln -s "$W/unsubscribed.real" "$W/unsubscribed"
out=$(send news carol@example.org s1)
tb_check "a store that became a symbolic link defers the list's mail (451)" grep -q '451 4.3.0' <<<"$out"
tb_check "and the log says the store cannot be read" grep -q 'unsubscribe store .* cannot be read' "$W/milter.log"
out=$(tb_swaks --from someone@other.example.net --to carol@example.org --header "X-Marker: s2" --body x)
tb_check "mail of no list still flows" grep -q '250 2.0.0 Ok: queued' <<<"$out"

# both daemons stop cleanly (in a sanitizer build: no report, no leak)
tb_stop_milter
tb_check "ses-milter stops with exit 0" test "${TB_MILTER_RC:-1}" = 0
kill "$UPID"; wait "$UPID"; rc=$?
tb_check "ses-milter-unsubscribe stops with exit 0" test "$rc" = 0
tb_check "no sanitizer report in either log" bash -c "! grep -q 'Sanitizer' '$W/milter.log' '$W/unsubd.log'"
tb_done
