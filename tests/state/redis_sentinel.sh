#!/bin/bash
# redis_sentinel.sh - the shared state finds its Redis master through Redis Sentinel
# ("sentinels", "master_name") and follows a failover; real redis-server processes
# (a master, a replica, a sentinel started with --sentinel) on loopback in the namespace.
# Proves:
#   - the master is the one the sentinels name; a sentinel that does not answer is skipped;
#   - a failover (SENTINEL FAILOVER): host A's new answers go to the new master, host B
#     reads them there (0 SES calls), no message lost or unchecked;
#   - the new master killed: Sentinel promotes the other; meanwhile every message is still
#     checked (accepted or refused, or tempfailed, never lost), and afterwards answers are
#     shared on the promoted master again.
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"
python3 -c 'import botocore' 2>/dev/null || { echo "SKIP: python3 botocore missing"; exit 77; }
grep -q '^S\["HAVE_HIREDIS_TRUE"\]=""' "$SM_BUILDDIR/config.status" || { echo "SKIP: built without hiredis"; exit 77; }
command -v redis-server >/dev/null || { echo "SKIP: redis-server missing"; exit 77; }
[ -f "$SM_BUILDDIR/plugins/ses/.libs/ses.so" ] || { echo "SKIP: no SES plugin"; exit 77; }
LOAD=$SM_BUILDDIR/tests/bench/milter_load
P1=6393 P2=6394 SP=26393
cli() { redis-cli -p "$1" "${@:2}"; }

cat > "$W/fixture.json" <<'EOF_FIX'
{"region": "us-east-1",
 "credentials": [{"access_key_id": "AKIDREDISTEST", "secret_access_key": "redisSecretKeyDoNotLog"}],
 "account": {"ProductionAccessEnabled": true, "SendingEnabled": true, "EnforcementStatus": "HEALTHY"},
 "identities": {
  "verified.example": {"IdentityType": "DOMAIN", "VerifiedForSendingStatus": true,
     "VerificationStatus": "SUCCESS"}
 }}
EOF_FIX
python3 "$SM_SRCDIR/tests/ses/ses_endpoint.py" --fixture "$W/fixture.json" --port-file "$W/run/ses.port" \
    > "$W/ses-endpoint.log" 2>&1 & TB_PIDS+=($!)
for _ in $(seq 100); do [ -s "$W/run/ses.port" ] && break; sleep 0.1; done
port=$(cat "$W/run/ses.port" 2>/dev/null) || { echo "SES endpoint did not start"; exit 1; }
stats() { python3 -c "import json,urllib.request; c=json.load(urllib.request.urlopen('http://127.0.0.1:$port/__stats'))['counts']; print(c.get('$1',0))"; }
reset() { curl -s -X POST "http://127.0.0.1:$port/__reset" >/dev/null; }

# --- a master, its replica, one sentinel (quorum 1) -----------------------------------------
tb_start_redis "$P1" || exit 1; PID1=$TB_REDIS_PID
tb_start_redis "$P2" "replicaof 127.0.0.1 $P1" || exit 1; PID2=$TB_REDIS_PID
mkdir -p "$W/sentinel"
printf 'port %s\nbind 127.0.0.1\ndir %s\nlogfile %s/sentinel.log\nsentinel monitor mymaster 127.0.0.1 %s 1\nsentinel down-after-milliseconds mymaster 1000\nsentinel failover-timeout mymaster 4000\n' \
    "$SP" "$W/sentinel" "$W/sentinel" "$P1" > "$W/sentinel/sentinel.conf"
redis-server "$W/sentinel/sentinel.conf" --sentinel > "$W/sentinel/stdout.log" 2>&1 & TB_PIDS+=($!)
tb_wait_port "$SP" || exit 1
master() { cli "$SP" SENTINEL get-master-addr-by-name mymaster | sed -n 2p; }
# wait_master PORT - until the sentinel names PORT, it is a master and has a connected replica
wait_master() {
    for _ in $(seq 300); do
        [ "$(master)" = "$1" ] && cli "$1" ROLE | sed -n 1p | grep -cx master >/dev/null &&
            cli "$1" INFO replication | grep -c '^connected_slaves:[1-9]' >/dev/null && return 0
        sleep 0.1
    done
    echo "# the sentinel does not name $1 as a master with a replica"; return 1
}
wait_master "$P1"
tb_check "the sentinel names the first master ($P1), its replica connected" test "$(master)" = "$P1"

mkdir -p "$W/plugins"
install -m 644 "$SM_BUILDDIR/plugins/ses/.libs/ses.so" "$W/plugins/"
export AWS_ACCESS_KEY_ID=AKIDREDISTEST AWS_SECRET_ACCESS_KEY=redisSecretKeyDoNotLog
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_SESV2
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
state: { backend = "redis"; sentinels = [ "127.0.0.1:26399", "127.0.0.1:$SP" ];
         master_name = "mymaster"; timeout_ms = 300; };
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
key() { echo "ses-milter:v1:id:ses-us:d:$1"; }

# --- 1. the master the sentinel names (the first sentinel does not answer) --------------------
corpus "$W/c1" a@verified.example b@unknown1.example
host a || exit 1
host b || exit 1
r1=$(drive a "$W/c1" 10); echo "# A: $r1"
tb_check "through the sentinels: every message accepted or refused, 0 errors" \
    test "$(( $(field accept "$r1") + $(field reject "$r1") ))/$(field errors "$r1")" = 10/0
tb_check "host A's answers are on the master the sentinel names ($P1)" \
    test "$(cli "$P1" EXISTS "$(key unknown1.example)")" = 1
reset; r1b=$(drive b "$W/c1" 10)
tb_check "host B reads them there: 0 SES calls, the same verdicts" \
    test "$(stats GetEmailIdentity)/$(field accept "$r1b")" = "0/$(field accept "$r1")"

# --- 2. a failover: the new master gets the new answers ---------------------------------------
cli "$SP" SENTINEL FAILOVER mymaster >/dev/null
wait_master "$P2"
tb_check "failover: the sentinel names the replica ($P2) as the master" test "$(master)" = "$P2"
corpus "$W/c2" c@verified.example b@unknown2.example
reset; r2=$(drive a "$W/c2" 10); echo "# A after the failover: $r2"
tb_check "after the failover: every message accepted or refused, 0 errors" \
    test "$(( $(field accept "$r2") + $(field reject "$r2") ))/$(field errors "$r2")" = 10/0
tb_check "after the failover host A's new answers are on the new master ($P2)" \
    test "$(cli "$P2" EXISTS "$(key unknown2.example)")" = 1
reset; r2b=$(drive b "$W/c2" 10)
tb_check "after the failover host B reads them: 0 SES calls" \
    test "$(stats GetEmailIdentity)/$(field accept "$r2b")" = "0/$(field accept "$r2")"

# --- 3. the new master killed: Sentinel promotes the old one, mail checked throughout -----------
corpus "$W/c3" $(for i in $(seq 40); do echo "u$i@verified.example"; done)
drive a "$W/c3" 400 2 > "$W/r3" & l3=$!
sleep 0.3
kill -9 "$PID2"
wait "$l3"; r3=$(cat "$W/r3"); echo "# A while the master dies: $r3"
tb_check "master killed: 400 messages, each accepted or tempfailed, none lost" \
    test "$(field msgs "$r3")/$(( $(field accept "$r3") + $(field tempfail "$r3") ))/$(field errors "$r3")" = 400/400/0
for _ in $(seq 100); do [ "$(master)" = "$P1" ] && cli "$P1" ROLE | sed -n 1p | grep -cx master >/dev/null && break; sleep 0.1; done
tb_check "the sentinel promoted $P1 again" test "$(master)" = "$P1"
sleep 5.5 # the longest backoff
corpus "$W/c4" a@unknown4.example
r4=$(drive a "$W/c4" 4 1)
tb_check "after the promotion: host A's answers on $P1 again" \
    test "$(field reject "$r4")/$(cli "$P1" EXISTS "$(key unknown4.example)")" = 4/1
tb_check "the master killed: 'down' and 'back' logged once each, naming the Sentinel master" \
    test "$(grep -c "state: Redis master 'mymaster' (Sentinel) down" "$W/a.log")/$(grep -c "state: Redis master 'mymaster' (Sentinel) back$" "$W/a.log")" = 1/1
tb_done
