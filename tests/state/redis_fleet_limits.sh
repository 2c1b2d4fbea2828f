#!/bin/bash
# redis_fleet_limits.sh - what the hosts of a fleet share through a real redis-server on
# loopback besides answers: the send quota of the account and the SES API budget.
#
# Two ses-milter hosts, the SES plugin against tests/ses/ses_endpoint.py (GetAccount gives the
# send quota; every API call is counted and time-stamped), tests/bench/milter_load as the MTA.
# Proves:
#   - the 24-hour quota is the fleet's: host A sends 7 of 12, host B then only 5 (tempfails
#     the rest), where its local estimate alone would let all 10 through;
#   - MaxSendRate is the fleet's: both hosts at once never accept more than MaxSendRate
#     recipients in a second of the run (the counters are in the Redis server's seconds);
#   - Redis down: the local estimate decides, "down" logged once, no message lost;
#   - the SES API budget: two hosts of rate N each, N calls/s for the fleet, asking SES about
#     new senders at once: the endpoint's busiest second has at most N calls (it would have
#     2N with each host's own limit only), every message answered (none lost).
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"
python3 -c 'import botocore' 2>/dev/null || { echo "SKIP: python3 botocore missing"; exit 77; }
grep -q '^S\["HAVE_HIREDIS_TRUE"\]=""' "$SM_BUILDDIR/config.status" || { echo "SKIP: built without hiredis"; exit 77; }
command -v redis-server >/dev/null || { echo "SKIP: redis-server missing"; exit 77; }
[ -f "$SM_BUILDDIR/plugins/ses/.libs/ses.so" ] || { echo "SKIP: no SES plugin"; exit 77; }
LOAD=$SM_BUILDDIR/tests/bench/milter_load
RPORT=6391
RCLI=(redis-cli -p "$RPORT" --no-auth-warning --user admin --pass adm1n)
# the minimal ACL the README gives the milter's user
ACL=("user default off" "user admin on >adm1n ~* +@all"
     "user sm on >s3cr3t-redis ~ses-milter:* +get +set +pttl +eval +del +time +incr +incrby +pexpire")

cat > "$W/fixture.json" <<'EOF_FIX'
{"region": "us-east-1",
 "credentials": [{"access_key_id": "AKIDREDISTEST", "secret_access_key": "redisSecretKeyDoNotLog"}],
 "identities": {
  "verified.example": {"IdentityType": "DOMAIN", "VerifiedForSendingStatus": true,
     "VerificationStatus": "SUCCESS"}
 }}
EOF_FIX
python3 "$SM_SRCDIR/tests/ses/ses_endpoint.py" --fixture "$W/fixture.json" --port-file "$W/run/ses.port" \
    > "$W/ses-endpoint.log" 2>&1 & TB_PIDS+=($!)
for _ in $(seq 100); do [ -s "$W/run/ses.port" ] && break; sleep 0.1; done
port=$(cat "$W/run/ses.port" 2>/dev/null) || { echo "SES endpoint did not start"; exit 1; }
api() { curl -s -X POST "http://127.0.0.1:$port/$1" >/dev/null; }
stats() { python3 -c "import json,urllib.request; c=json.load(urllib.request.urlopen('http://127.0.0.1:$port/__stats'))['counts']; print(c.get('$1',0))"; }

tb_start_redis "$RPORT" "${ACL[@]}" || exit 1
printf 's3cr3t-redis\n' > "$W/redis.pw"; chmod 600 "$W/redis.pw"
mkdir -p "$W/plugins"
install -m 644 "$SM_BUILDDIR/plugins/ses/.libs/ses.so" "$W/plugins/"
export AWS_ACCESS_KEY_ID=AKIDREDISTEST AWS_SECRET_ACCESS_KEY=redisSecretKeyDoNotLog
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_SESV2

# host NAME [RATE] - configure and start one host (SES rate RATE/s, default 500); PID in PID_NAME;
# waits until it has read the account (GetAccount)
host() {
    local n=$1 r=${2:-500} conf=$W/milter-$1.conf
    tb_milter_conf "$conf" <<EOC
scope: { internal_networks = [ "127.0.0.0/8", "192.0.2.0/24" ]; };
identity: {
  plugin_dir = "$W/plugins";
  sources = ( { name = "ses-us"; plugin = "ses"; region = "us-east-1";
                endpoint = "http://127.0.0.1:$port"; insecure_http = true;
                credentials_source = "env"; rate = $r; burst = $r; warmup_interval = 0; } );
  check_envelope_from = false;
  lookup_timeout_ms = 3000;
};
alignment: { relay = "direct"; };
state: { backend = "redis"; address = "127.0.0.1:$RPORT"; user = "sm"; password_file = "$W/redis.pw";
         timeout_ms = 200; };
EOC
    sed -i "s|$W/run/milter.sock|$W/run/$n.sock|; s|$W/run/milter.pid|$W/run/$n.pid|" "$conf"
    rm -f "$W/run/$n.sock"
    "$SM_BUILDDIR/ses-milter" -f -c "$conf" >> "$W/$n.log" 2>&1 &
    eval "PID_$n=\$!"; TB_PIDS+=($!)
    for _ in $(seq 200); do [ -S "$W/run/$n.sock" ] && grep -q 'SES account in' "$W/$n.log" && return 0; sleep 0.05; done
    echo "ses-milter $n did not start"; cat "$W/$n.log"; return 1
}
stop() { local p; eval "p=\$PID_$1"; kill "$p"; wait "$p" 2>/dev/null; }
# corpus DIR FROM... - one message per sender, one recipient each
corpus() {
    local d=$1 f i=0; shift; mkdir -p "$d"
    for f in "$@"; do
        i=$((i + 1))
        printf '#env from %s\n#env rcpt bob@example.org\nFrom: %s\nTo: bob@example.org\nSubject: t%d\n\nbody\n' \
            "$f" "$f" "$i" > "$d/m$i.eml"
    done
}
drive() { "$LOAD" -q -s "unix:$W/run/$1.sock" -n "$3" -c "${4:-1}" "$2" 2>>"$W/load.err" | grep '^RESULT'; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
senders() { for i in $(seq "$2"); do echo "u$i@$1"; done; }
corpus "$W/cv" carol@verified.example

# --- 1. the 24-hour quota is the fleet's ---------------------------------------------
api "__mode?account=quota:12,1000,0"
host a || exit 1
host b || exit 1
ra=$(drive a "$W/cv" 7)
tb_check "host A: 7 of the 12 sends of the day accepted" test "$(field accept "$ra")/$(field tempfail "$ra")" = 7/0
rb=$(drive b "$W/cv" 10)
tb_check "host B: the 5 left accepted, 5 tempfailed (its local estimate alone: 10 accepted)" \
    test "$(field accept "$rb")/$(field tempfail "$rb")/$(field errors "$rb")" = 5/5/0
tb_check "host B says why: the fleet's daily quota" grep -q 'Daily sending quota .* by the fleet' "$W/b.log"
tb_check "the 24-hour counter is in Redis, per instance" \
    test -n "$("${RCLI[@]}" --scan --pattern 'ses-milter:v1:count:sent24h:ses-us:3600:*' | head -1)"
stop a; stop b

# --- 2. MaxSendRate is the fleet's ------------------------------------------------------
RATE=5
api "__mode?account=quota:1000000,$RATE,0"
host a || exit 1
host b || exit 1
# start just after a second begins, so that a short run stays within few seconds
python3 -c 'import time; time.sleep(1.02 - time.time() % 1)'
t0=$(date +%s)
drive a "$W/cv" 40 4 > "$W/r2a" & da=$!
drive b "$W/cv" 40 4 > "$W/r2b" & db=$!
wait "$da" "$db"
t1=$(date +%s)
r2a=$(cat "$W/r2a"); r2b=$(cat "$W/r2b")
acc=$(( $(field accept "$r2a") + $(field accept "$r2b") ))
secs=$(( t1 - t0 + 1 ))
echo "# rate: $acc accepted over $secs second(s) at $RATE/s; A: $r2a"; echo "# B: $r2b"
tb_check "both hosts at once: at most $RATE recipients accepted per second of the run ($acc in $secs s)" \
    test "$acc" -ge 1 -a "$acc" -le $(( RATE * secs ))
tb_check "both hosts at once: the rest tempfailed, none lost" \
    test "$(( acc + $(field tempfail "$r2a") + $(field tempfail "$r2b") ))/$(field errors "$r2a")$(field errors "$r2b")" = 80/00
tb_check "a host says why: the fleet's rate" grep -q 'Sending rate .* by the fleet' "$W/a.log" "$W/b.log"

# --- 3. Redis down: the local estimate decides, logged once, nothing lost ----------------
tb_stop_redis
sleep 1.1
r3=$(drive a "$W/cv" 20 1)
tb_check "Redis down: 20 messages accepted or tempfailed by the local estimate, none lost" \
    test "$(( $(field accept "$r3") + $(field tempfail "$r3") ))/$(field errors "$r3")" = 20/0
tb_check "Redis down: the local rate still holds (at least one accepted, at most its burst and rate)" \
    test "$(field accept "$r3")" -ge 1
tb_check "Redis down: 'down' logged once" test "$(grep -c 'state: Redis .* down' "$W/a.log")" = 1
stop a; stop b
tb_start_redis "$RPORT" "${ACL[@]}" || exit 1

# --- 4. the SES API budget of the fleet: N calls in any second at the endpoint -------------
N=4
api "__mode?account=healthy"
host a "$N" || exit 1
host b "$N" || exit 1
corpus "$W/na" $(senders new-a.example 12)
corpus "$W/nb" $(senders new-b.example 12)
curl -s -X POST "http://127.0.0.1:$port/__reset" >/dev/null
drive a "$W/na" 12 4 > "$W/r4a" & da=$!
drive b "$W/nb" 12 4 > "$W/r4b" & db=$!
wait "$da" "$db"
r4a=$(cat "$W/r4a"); r4b=$(cat "$W/r4b")
busiest=$(curl -s "http://127.0.0.1:$port/__stats" | python3 -c 'import json,sys,collections
w=json.load(sys.stdin).get("wall",{}).get("GetEmailIdentity",[])
print(max(collections.Counter(int(t) for t in w).values()) if w else 0, len(w))')
echo "# budget: busiest second, calls: $busiest; A: $r4a"; echo "# B: $r4b"
read -r peak calls <<<"$busiest"
tb_check "the fleet asked SES about the new senders (calls: $calls)" test "$calls" -ge "$N"
tb_check "the endpoint's busiest second: at most $N GetEmailIdentity calls from both hosts ($peak)" \
    test "$peak" -le "$N"
tb_check "every message answered (refused or tempfailed), none lost" \
    test "$(( $(field reject "$r4a") + $(field tempfail "$r4a") + $(field reject "$r4b") + $(field tempfail "$r4b") ))/$(field errors "$r4a")$(field errors "$r4b")" = 24/00
tb_done
