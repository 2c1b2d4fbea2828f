#!/bin/bash
# test_endpoint_http.sh - ses-milter-unsubscribe answers real HTTP requests (curl)
#
# Proves, table-driven, in a private network namespace: a one-click POST with a good
# token is recorded (urlencoded and multipart/form-data) and answered 200 without
# cookies; a replay is 200 and recorded once; a bad signature and an expired token
# are 403, a malformed one 400, a URL without a token and a list no rule makes 404;
# GET serves a confirmation page with a POST form and records nothing; PUT/DELETE
# are 405; an oversized body 413; a missing or wrong body 400; another media type
# 415.  And the store: created mode 0640, one line per pair; a store that is a
# symbolic link, one writable by group, or one another writer holds is refused at
# start.  With endpoint_tls_* it speaks HTTPS itself (a POST over TLS recorded).
# It stops on SIGTERM with exit 0 (sanitizer builds: with no report).  The shipped
# systemd unit passes systemd-analyze verify.
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"

TOK="$SM_BUILDDIR/ses-milter-token"
D="$SM_BUILDDIR/ses-milter-unsubscribe"
[ -x "$D" ] || { echo "SKIP: ses-milter-unsubscribe not built (no libmicrohttpd)"; exit 77; }
"$TOK" genkey "$W/unsub.key" >/dev/null || exit 1
"$TOK" genkey "$W/other.key" >/dev/null || exit 1

# conf FILE STORE PORT [EXTRA] - an unsubscribe section for the endpoint
conf() {
    cat > "$1" <<EOC
unsubscribe = {
  ${4:-}
  token_key_file = "$W/unsub.key";
  token_ttl = 3600;
  store_file = "$2";
  endpoint_listen = "127.0.0.1:$3";
  endpoint_max_body = 256;
  rules = ( { name = "news"; senders = [ "news.example.com" ];
              url = "https://example.com/unsubscribe/%{token}"; multi_recipient = "skip"; },
            { name = "promo"; senders = [ "promo.example.com" ];
              url = "https://example.com/u?t=%{token}&l=%{list_id}"; multi_recipient = "skip"; } );
};
EOC
}
conf "$W/u.conf" "$W/store" 8058
"$D" -c "$W/u.conf" > "$W/unsubd.log" 2>&1 & UPID=$!; TB_PIDS+=($UPID)
tb_wait_port 8058 || { cat "$W/unsubd.log"; exit 1; }

now=$(date +%s)
good=$("$TOK" create -k "$W/unsub.key" -r alice@example.org -l news)
multi=$("$TOK" create -k "$W/unsub.key" -r bob@example.org -l news)
promo=$("$TOK" create -k "$W/unsub.key" -r alice@example.org -l promo)
expired=$("$TOK" create -k "$W/unsub.key" -r carol@example.org -l news -t $((now - 7200)))
otherkey=$("$TOK" create -k "$W/other.key" -r dave@example.org -l news)
nolist=$("$TOK" create -k "$W/unsub.key" -r erin@example.org -l gone)
page=$("$TOK" create -k "$W/unsub.key" -r frank@example.org -l news)
# one MAC character changed (not the last: its low bits must be zero, a canonical-encoding error)
c=${good: -10:1}; [ "$c" = A ] && r=B || r=A
flipped="${good:0:${#good}-10}$r${good: -9}"
malformed="x${good}" # the right shape, but not base64url of a payload

U=http://127.0.0.1:8058
big=$(head -c 2000 /dev/zero | tr '\0' 'x')
# name | curl arguments (eval'd) | want code | want text in body | store lines after
cases=(
"good token, urlencoded POST is recorded|-d List-Unsubscribe=One-Click $U/unsubscribe/$good|200|Unsubscribed|1"
"replay of the same POST is 200, recorded once|-d List-Unsubscribe=One-Click $U/unsubscribe/$good|200|Already|1"
"multipart/form-data POST is recorded|-F List-Unsubscribe=One-Click $U/unsubscribe/$multi|200|Unsubscribed|2"
"token in the query (another list) is recorded|-d List-Unsubscribe=One-Click '$U/u?t=$promo&l=promo'|200|Unsubscribed|3"
"bad signature (one MAC character changed) is 403|-d List-Unsubscribe=One-Click $U/unsubscribe/$flipped|403|not valid|3"
"token made with another key is 403|-d List-Unsubscribe=One-Click $U/unsubscribe/$otherkey|403|not valid|3"
"expired token is 403|-d List-Unsubscribe=One-Click $U/unsubscribe/$expired|403|expired|3"
"malformed token is 400|-d List-Unsubscribe=One-Click $U/unsubscribe/$malformed|400|Bad request|3"
"URL without a token is 404|-d List-Unsubscribe=One-Click $U/unsubscribe/|404|No such|3"
"list no rule makes is 404|-d List-Unsubscribe=One-Click $U/unsubscribe/$nolist|404|No such|3"
"GET serves a page with a POST form|$U/unsubscribe/$page|200|<form method=\"post\"|3"
"GET page names the address|$U/unsubscribe/$page|200|frank@example.org|3"
"HEAD is 200 and records nothing|-I $U/unsubscribe/$page|200||3"
"PUT is 405|-X PUT -d List-Unsubscribe=One-Click $U/unsubscribe/$page|405|not allowed|3"
"DELETE is 405|-X DELETE $U/unsubscribe/$page|405|not allowed|3"
"oversized body is 413|-d List-Unsubscribe=One-Click\&x=$big $U/unsubscribe/$page|413|too large|3"
"oversized chunked body is 413|-H 'Transfer-Encoding: chunked' -d x=$big $U/unsubscribe/$page|413|too large|3"
"POST without a body is 400|-X POST $U/unsubscribe/$page|400|One-Click|3"
"POST with another form field is 400|-d List-Unsubscribe=Two-Clicks $U/unsubscribe/$page|400|One-Click|3"
"POST as text/plain is 415|-H 'Content-Type: text/plain' -d List-Unsubscribe=One-Click $U/unsubscribe/$page|415|urlencoded|3"
)
for c in "${cases[@]}"; do
    IFS='|' read -r name args code text lines <<<"$c"
    out=$(eval "curl -s -m 10 -D '$W/hdr' -o '$W/body' -w '%{http_code}' $args")
    got_lines=$(wc -l < "$W/store")
    if [ "$out" != "$code" ]; then
        tb_nok "$name: HTTP $out, want $code ($(head -c 200 "$W/body"))"
    elif [ -n "$text" ] && ! grep -qF -- "$text" "$W/body"; then
        tb_nok "$name: body lacks '$text': $(head -c 300 "$W/body")"
    elif [ "$got_lines" != "$lines" ]; then
        tb_nok "$name: store has $got_lines lines, want $lines"
    elif grep -qi '^Set-Cookie' "$W/hdr"; then
        tb_nok "$name: answer sets a cookie"
    else
        tb_ok "$name"
    fi
done
tb_check "405 names the allowed methods" grep -qi '^Allow: GET, HEAD, POST' <(curl -s -D - -o /dev/null -X PUT "$U/unsubscribe/$page")
tb_check "answers are not cached" grep -qi '^Cache-Control: no-store' <(curl -s -D - -o /dev/null "$U/unsubscribe/$page")
tb_check "the store is mode 640" test "$(stat -c %a "$W/store")" = 640
tb_check "the store holds alice for news" grep -qP '^\d+\tnews\talice@example.org$' "$W/store"
tb_check "the store holds alice for promo" grep -qP '^\d+\tpromo\talice@example.org$' "$W/store"
tb_check "the store holds bob for news (multipart)" grep -qP '^\d+\tnews\tbob@example.org$' "$W/store"
tb_check "no refused or GET request reached the store" bash -c "! grep -qE 'frank|carol|dave|erin' '$W/store'"

# start-up refusals: a second writer, a symbolic link, a group-writable file
conf "$W/u2.conf" "$W/store" 8059
out=$(timeout 10 "$D" -c "$W/u2.conf" 2>&1); rc=$?
tb_check "a second writer of the same store is refused (exit 1)" test "$rc" = 1
tb_check "and says another writer holds it" grep -q 'another ses-milter-unsubscribe' <<<"$out"
ln -s "$W/store" "$W/link"
conf "$W/u3.conf" "$W/link" 8060
out=$(timeout 10 "$D" -c "$W/u3.conf" 2>&1); rc=$?
tb_check "a store that is a symbolic link is refused (exit 1)" test "$rc" = 1
tb_check "and says so" grep -q 'symbolic link' <<<"$out"
install -m 660 /dev/null "$W/gw"
conf "$W/u4.conf" "$W/gw" 8061
out=$(timeout 10 "$D" -c "$W/u4.conf" 2>&1); rc=$?
tb_check "a group-writable store is refused (exit 1)" test "$rc" = 1
tb_check "and says chmod 640" grep -q 'chmod 640' <<<"$out"
# HTTPS without a proxy: endpoint_tls_cert_file / endpoint_tls_key_file (libmicrohttpd with TLS)
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$W/tls.key" -out "$W/tls.pem" >/dev/null 2>&1 || exit 1
conf "$W/tls.conf" "$W/store-tls" 8443 "endpoint_tls_cert_file = \"$W/tls.pem\"; endpoint_tls_key_file = \"$W/tls.key\";"
"$D" -c "$W/tls.conf" > "$W/unsubd-tls.log" 2>&1 & TPID=$!; TB_PIDS+=($TPID)
if tb_wait_port 8443; then
    code=$(curl -s -m 10 --cacert "$W/tls.pem" -o /dev/null -w '%{http_code}' -d List-Unsubscribe=One-Click \
        "https://127.0.0.1:8443/unsubscribe/$page")
    tb_check "HTTPS: a one-click POST is 200 over TLS" test "$code" = 200
    tb_check "HTTPS: and recorded in its store" grep -qP '\tnews\tfrank@example.org$' "$W/store-tls"
    code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:8443/unsubscribe/$page")
    tb_check "HTTPS: plain HTTP to the TLS port gets no answer" test "$code" = 000
    kill "$TPID"; wait "$TPID"
else
    tb_nok "HTTPS: the TLS endpoint did not start: $(cat "$W/unsubd-tls.log")"
fi

# endpoint_user: started as root, it becomes that user and still writes the store it opened
install -m 640 /dev/null "$W/store-drop"
conf "$W/drop.conf" "$W/store-drop" 8062 'endpoint_user = "nobody";'
"$D" -c "$W/drop.conf" > "$W/unsubd-drop.log" 2>&1 & DPID=$!; TB_PIDS+=($DPID)
if tb_wait_port 8062; then
    tb_check "endpoint_user: the process runs as nobody" test "$(awk '/^Uid:/ {print $2 $3 $4 $5}' /proc/$DPID/status)" = "$(id -u nobody)$(id -u nobody)$(id -u nobody)$(id -u nobody)"
    code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -d List-Unsubscribe=One-Click "http://127.0.0.1:8062/unsubscribe/$page")
    tb_check "endpoint_user: a POST is still recorded (root's store, through the open descriptor)" \
        bash -c "test '$code' = 200 && grep -q frank@example.org '$W/store-drop'"
    kill "$DPID"; wait "$DPID"
else
    tb_nok "endpoint_user: the endpoint did not start: $(cat "$W/unsubd-drop.log")"
fi

# the shipped unit (its ExecStart moved to this build) passes systemd-analyze verify
if command -v systemd-analyze >/dev/null; then
    mkdir -p "$W/units"
    sed "s#/usr/local/sbin/ses-milter-unsubscribe#$D#" "$SM_SRCDIR/contrib/systemd/ses-milter-unsubscribe.service" \
        > "$W/units/ses-milter-unsubscribe.service"
    out=$(systemd-analyze verify "$W/units/ses-milter-unsubscribe.service" 2>&1)
    tb_check "contrib/systemd/ses-milter-unsubscribe.service passes systemd-analyze verify" test -z "$out"
    [ -z "$out" ] || echo "# $out"
else
    tb_ok "systemd unit # SKIP systemd-analyze missing"
fi

# stop: SIGTERM ends it with exit 0 (and, in a sanitizer build, no report: a leak fails it)
kill "$UPID"; wait "$UPID"; rc=$?
tb_check "SIGTERM stops it with exit 0" test "$rc" = 0
tb_check "no sanitizer report in its log" bash -c "! grep -q 'Sanitizer' '$W/unsubd.log'"
tb_done
