#!/bin/bash
# redis_tls.sh - the shared state over TLS to a real redis-server (tls-port), with a
# throwaway CA made here, mutual TLS and a Redis 6 ACL user (AUTH user password over TLS).
#
# hiredis 0.14 (Debian 12) has no TLS: src/state/state_redis_tls.c does it with OpenSSL.
# Proves:
#   - two hosts share answers over TLS (host B makes 0 SES calls), AUTH as the ACL user;
#   - the server's certificate is always verified: a CA that did not sign it, a name it
#     does not carry (tls_server_name, or the IP address connected to): refused, "down"
#     logged once with the reason, every message still checked by SES (none lost);
#   - mutual TLS: without the client certificate Redis drops the connection (down, mail checked);
#   - a reload reads the root-only key through the privileged helper and keeps TLS working;
#   - Redis restarted: the TLS connections are made again ("back" logged once);
#   - no secret (password, key) in any log.
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"
python3 -c 'import botocore' 2>/dev/null || { echo "SKIP: python3 botocore missing"; exit 77; }
grep -q '^S\["HAVE_HIREDIS_TRUE"\]=""' "$SM_BUILDDIR/config.status" || { echo "SKIP: built without hiredis"; exit 77; }
command -v redis-server >/dev/null || { echo "SKIP: redis-server missing"; exit 77; }
ldd "$(command -v redis-server)" | grep -c libssl >/dev/null || { echo "SKIP: redis-server built without TLS"; exit 77; }
command -v openssl >/dev/null || { echo "SKIP: openssl missing"; exit 77; }
[ -f "$SM_BUILDDIR/plugins/ses/.libs/ses.so" ] || { echo "SKIP: no SES plugin"; exit 77; }
LOAD=$SM_BUILDDIR/tests/bench/milter_load
RPORT=6392
T=$W/tls
ACL=("user default off" "user admin on >adm1n ~* +@all"
     "user sm on >s3cr3t-redis ~ses-milter:* +get +set +pttl +eval +del +time +incr +incrby +pexpire")

# --- a throwaway CA, the server's certificate (redis.test only), a client's, another CA ------
mkdir -p "$T"
(cd "$T" &&
 openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=sm-test-ca -keyout ca.key -out ca.crt &&
 openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=sm-other-ca -keyout other.key -out other-ca.crt &&
 openssl req -newkey rsa:2048 -nodes -subj /CN=redis.test -keyout server.key -out server.csr &&
 printf 'subjectAltName=DNS:redis.test\n' > server.ext &&
 openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out server.crt &&
 openssl req -newkey rsa:2048 -nodes -subj /CN=sm-milter -keyout client.key -out client.crt.csr &&
 openssl x509 -req -in client.crt.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out client.crt
) > "$W/openssl.log" 2>&1 || { echo "openssl failed"; cat "$W/openssl.log"; exit 1; }
chmod 600 "$T/client.key"
chmod 644 "$T/server.key" # redis-server runs as root here; the milter's key stays root-only
RCLI=(redis-cli -p "$RPORT" --tls --cacert "$T/ca.crt" --sni redis.test --cert "$T/client.crt"
      --key "$T/client.key" --no-auth-warning --user admin --pass adm1n)

# --- the SES endpoint: a verified domain, a verified address; the rest unknown -------------
cat > "$W/fixture.json" <<'EOF_FIX'
{"region": "us-east-1",
 "credentials": [{"access_key_id": "AKIDREDISTEST", "secret_access_key": "redisSecretKeyDoNotLog"}],
 "account": {"ProductionAccessEnabled": true, "SendingEnabled": true, "EnforcementStatus": "HEALTHY"},
 "identities": {
  "verified.example": {"IdentityType": "DOMAIN", "VerifiedForSendingStatus": true,
     "VerificationStatus": "SUCCESS",
     "DkimAttributes": {"SigningEnabled": true, "Status": "SUCCESS", "SigningAttributesOrigin": "AWS_SES"}},
  "alice@addr.example": {"IdentityType": "EMAIL_ADDRESS", "VerifiedForSendingStatus": true,
     "VerificationStatus": "SUCCESS"}
 }}
EOF_FIX
python3 "$SM_SRCDIR/tests/ses/ses_endpoint.py" --fixture "$W/fixture.json" --port-file "$W/run/ses.port" \
    > "$W/ses-endpoint.log" 2>&1 & TB_PIDS+=($!)
for _ in $(seq 100); do [ -s "$W/run/ses.port" ] && break; sleep 0.1; done
port=$(cat "$W/run/ses.port" 2>/dev/null) || { echo "SES endpoint did not start"; exit 1; }
stats() { python3 -c "import json,urllib.request; c=json.load(urllib.request.urlopen('http://127.0.0.1:$port/__stats'))['counts']; print(c.get('$1',0))"; }
reset() { curl -s -X POST "http://127.0.0.1:$port/__reset" >/dev/null; }

# --- Redis on a TLS port only, client certificates required, ACL users -----------------------
redis_tls() {
    tb_start_redis "$RPORT" "port 0" "tls-port $RPORT" "tls-cert-file $T/server.crt" \
        "tls-key-file $T/server.key" "tls-ca-cert-file $T/ca.crt" "tls-auth-clients yes" \
        "enable-debug-command local" "${ACL[@]}"
}
redis_tls || exit 1
printf 's3cr3t-redis\n' > "$W/redis.pw"; chmod 600 "$W/redis.pw"
tb_check "Redis answers over TLS (redis-cli --tls)" test "$("${RCLI[@]}" PING)" = PONG

mkdir -p "$W/plugins"
install -m 644 "$SM_BUILDDIR/plugins/ses/.libs/ses.so" "$W/plugins/"
export AWS_ACCESS_KEY_ID=AKIDREDISTEST AWS_SECRET_ACCESS_KEY=redisSecretKeyDoNotLog
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_SESV2

# host NAME 'TLS SETTINGS' - configure and start one ses-milter host; PID in PID_NAME
host() {
    local n=$1 conf=$W/milter-$1.conf
    tb_milter_conf "$conf" <<EOC
scope: { internal_networks = [ "127.0.0.0/8", "192.0.2.0/24" ]; };
identity: {
  plugin_dir = "$W/plugins";
  sources = ( { name = "ses-us"; plugin = "ses"; region = "us-east-1";
                endpoint = "http://127.0.0.1:$port"; insecure_http = true;
                credentials_source = "env"; rate = 500; burst = 500; warmup_interval = 0; } );
  check_envelope_from = false;
  lookup_timeout_ms = 3000;
};
state: { backend = "redis"; address = "127.0.0.1:$RPORT"; user = "sm"; password_file = "$W/redis.pw";
         timeout_ms = 500; tls = true; $2 };
EOC
    sed -i "s|$W/run/milter.sock|$W/run/$n.sock|; s|$W/run/milter.pid|$W/run/$n.pid|" "$conf"
    rm -f "$W/run/$n.sock"
    "$SM_BUILDDIR/ses-milter" -f -c "$conf" >> "$W/$n.log" 2>&1 &
    eval "PID_$n=\$!"; TB_PIDS+=($!)
    for _ in $(seq 200); do [ -S "$W/run/$n.sock" ] && return 0; sleep 0.05; done
    echo "ses-milter $n did not start"; cat "$W/$n.log"; return 1
}
corpus() {
    local d=$1 f i=0; shift; mkdir -p "$d"
    for f in "$@"; do
        i=$((i + 1))
        printf '#env from %s\n#env rcpt bob@example.org\nFrom: %s\nTo: bob@example.org\nSubject: t%d\n\nbody\n' \
            "$f" "$f" "$i" > "$d/m$i.eml"
    done
}
drive() { "$LOAD" -q -s "unix:$W/run/$1.sock" -n "$3" -c "${4:-2}" "$2" 2>>"$W/load.err" | grep '^RESULT'; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
GOOD="tls_ca_file = \"$T/ca.crt\"; tls_server_name = \"redis.test\";
         tls_cert_file = \"$T/client.crt\"; tls_key_file = \"$T/client.key\";"

# --- 1. two hosts share answers over TLS, AUTH as the ACL user ----------------------------------
corpus "$W/c1" alice@addr.example carol@verified.example dave@unknown.example
host a "$GOOD" || exit 1
host b "$GOOD" || exit 1
ra=$(drive a "$W/c1" 30); echo "# A: $ra"
tb_check "TLS host A: every message accepted or refused (none tempfailed), 0 errors" \
    test "$(( $(field accept "$ra") + $(field reject "$ra") ))/$(field errors "$ra")" = 30/0
tb_check "TLS host A asked SES" test "$(stats GetEmailIdentity)" -ge 3
reset
rb=$(drive b "$W/c1" 30); echo "# B: $rb"
tb_check "TLS host B makes 0 SES calls: every answer came from Redis over TLS" \
    test "$(stats GetEmailIdentity)" = 0
tb_check "TLS host B gives host A's verdicts" \
    test "$(field accept "$rb")/$(field reject "$rb")/$(field tempfail "$rb")" = "$(field accept "$ra")/$(field reject "$ra")/0"
tb_check "the answers are in Redis (read back over TLS)" \
    test "$("${RCLI[@]}" EXISTS 'ses-milter:v1:id:ses-us:a:alice@addr.example')" = 1
tb_check "Redis saw the milter as ACL user sm over TLS" \
    grep -q 'user=sm' <<<"$("${RCLI[@]}" CLIENT LIST)"
tb_check "TLS host A: never down" bash -c "! grep -q 'state: Redis .* down' '$W/a.log'"

# --- 2. refused servers: down once with the reason, every message checked by SES ---------------
# refused NAME 'SETTINGS' 'REASON (log pattern)' 'WHAT'
refused() {
    reset
    host "$1" "$2" || return 1
    local r; r=$(drive "$1" "$W/c1" 9); echo "# $1: $r"
    tb_check "$4: every message checked by SES (accepted or refused, none tempfailed)" \
        test "$(( $(field accept "$r") + $(field reject "$r") ))/$(field errors "$r")/$(( $(stats GetEmailIdentity) > 0 ))" = "9/0/1"
    tb_check "$4: 'down' logged once, with the reason" \
        test "$(grep -c "state: Redis .* down: .*$3" "$W/$1.log")" = 1
    kill "$(eval echo "\$PID_$1")"
}
refused wrongca "tls_ca_file = \"$T/other-ca.crt\"; tls_server_name = \"redis.test\";
         tls_cert_file = \"$T/client.crt\"; tls_key_file = \"$T/client.key\";" \
    "the server.s certificate (name redis.test) is refused: " "a CA that did not sign the server's certificate"
refused wrongname "tls_ca_file = \"$T/ca.crt\"; tls_server_name = \"other.test\";
         tls_cert_file = \"$T/client.crt\"; tls_key_file = \"$T/client.key\";" \
    "(name other.test) is refused: hostname mismatch" "a server name the certificate does not carry"
refused ipname "tls_ca_file = \"$T/ca.crt\"; tls_cert_file = \"$T/client.crt\"; tls_key_file = \"$T/client.key\";" \
    "(name 127.0.0.1) is refused: IP address mismatch" "no tls_server_name: the IP address is checked (not in the certificate)"
refused nocert "tls_ca_file = \"$T/ca.crt\"; tls_server_name = \"redis.test\";" \
    "AUTH as sm: " "mutual TLS: no client certificate (TLS 1.3: Redis resets it after the handshake)"

# --- 3. a reload: the root-only key through the privileged helper, TLS still working ----------
kill -HUP "$PID_b"
for _ in $(seq 100); do grep -q 'reloaded\|reload refused' "$W/b.log" && break; sleep 0.05; done
tb_check "reload with a root-only client key: reloaded" grep -q 'configuration .* reloaded' "$W/b.log"
corpus "$W/n3" carol@verified.example
reset; r3=$(drive b "$W/n3" 1 1)
tb_check "after the reload host B still reads host A's answers over TLS (0 SES calls)" \
    test "$(field accept "$r3")/$(stats GetEmailIdentity)" = 1/0

# --- 4. Redis restarted: TLS connections made again, "back" once -----------------------------
pumps() { grep -lx sm-redis-tls /proc/"$1"/task/*/comm 2>/dev/null | wc -l; }
p4=$(pumps "$PID_a")
tb_check "host A: one TLS pump thread per open connection ($p4, pool 8)" test "$p4" -ge 1 -a "$p4" -le 8
tb_stop_redis -9
sleep 0.5
tb_check "Redis killed: host A's TLS pumps ended (no thread left)" test "$(pumps "$PID_a")" = 0
tb_check "Redis killed: host A holds no TCP connection to Redis (no CLOSE-WAIT)" \
    test "$(ss -Htanp "dport = :$RPORT" | grep -c "pid=$PID_a,")" = 0
corpus "$W/c4" u1@verified.example u2@verified.example
r4=$(drive a "$W/c4" 4 1)
tb_check "Redis down: every message still accepted (from SES)" test "$(field accept "$r4")" = 4
redis_tls || exit 1
sleep 5.5 # the longest backoff
corpus "$W/c5" r1@verified.example r2@verified.example
r5=$(drive a "$W/c5" 4 1)
tb_check "after the restart: every message accepted" test "$(field accept "$r5")" = 4
tb_check "Redis restarted: 'down' and 'back' logged once each" \
    test "$(grep -c 'state: Redis .* down' "$W/a.log")/$(grep -c 'state: Redis [^ ]* back$' "$W/a.log")" = 1/1
tb_check "after the restart: host A's pumps are back, at most one per connection" \
    test "$(pumps "$PID_a")" -ge 1 -a "$(pumps "$PID_a")" -le 8
reset; r5b=$(drive b "$W/c5" 4 1)
tb_check "after the restart host B again reads host A's answers over TLS (0 SES calls)" \
    test "$(stats GetEmailIdentity)/$(field accept "$r5b")" = 0/4

# --- 5. a slow Redis over TLS: the timeouts hold as in plaintext -------------------------------
corpus "$W/c6" $(for i in $(seq 10); do echo "s$i@verified.example"; done)
"${RCLI[@]}" DEBUG SLEEP 4 >/dev/null & sl=$!
sleep 0.2
t0=$(date +%s%N); r6=$(drive a "$W/c6" 10 2); t1=$(date +%s%N)
echo "# slow Redis: $r6 ($(( (t1 - t0) / 1000000 )) ms)"
tb_check "slow Redis over TLS (DEBUG SLEEP 4 s, timeout_ms 500): every message accepted from SES, in < 3.5 s" \
    test "$(field accept "$r6")/$(field errors "$r6")/$(( (t1 - t0) < 3500000000 ))" = 10/0/1
wait "$sl"
tb_check "slow Redis: the pumps of the connections given up ended (at most one per connection)" \
    test "$(pumps "$PID_a")" -le 8

tb_check "no secret in any log (password, client key)" \
    bash -c "! grep -q -e s3cr3t-redis -e redisSecretKeyDoNotLog -e 'PRIVATE KEY' '$W'/*.log"
tb_done
