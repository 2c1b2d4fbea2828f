#!/bin/bash
# redis_fleet.sh - two ses-milter hosts sharing identity answers through a real
# redis-server on loopback (the "state" group), and what Redis faults do to the mail.
#
# Each host runs the SES plugin against tests/ses/ses_endpoint.py (which counts the API
# calls); tests/bench/milter_load drives each host over the milter protocol.  Proves:
#   - an answer host A got from SES (positive and negative) serves host B: B makes 0 calls,
#     and B's audit records give those answers the origin "redis";
#   - two hosts asking at once for a new sender while SES is slow: SES asked once per identity;
#   - a warm-up (ListEmailIdentities) on one host is written through: another starts warm (0 calls);
#   - suppression answers (GetSuppressedDestination) are shared: a second host asks about none,
#     under PREFIX:v1:supp:INSTANCE:SHA256 (no address in a key name), each with its own TTL;
#   - a reload keeps the state backend working (its password file served by the helper);
#   - the answers are under PREFIX:v1:id:INSTANCE:KIND:IDENTITY with their TTL;
#   - AUTH with a Redis 6 ACL user (the README's minimal ACL) works; a wrong password is "down", mail still checked;
#   - Redis killed mid-load: every message relayed or tempfailed, none lost, none unchecked
#     (verified senders never rejected, unknown senders never accepted); "down" logged once;
#   - Redis restarted: "back" logged once, answers shared again;
#   - a slow Redis (DEBUG SLEEP) longer than the message deadline: messages still checked;
#   - the SES API budget of both hosts is one counter in Redis.
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"
python3 -c 'import botocore' 2>/dev/null || { echo "SKIP: python3 botocore missing"; exit 77; }
grep -q '^S\["HAVE_HIREDIS_TRUE"\]=""' "$SM_BUILDDIR/config.status" || { echo "SKIP: built without hiredis"; exit 77; }
command -v redis-server >/dev/null || { echo "SKIP: redis-server missing"; exit 77; }
[ -f "$SM_BUILDDIR/plugins/ses/.libs/ses.so" ] || { echo "SKIP: no SES plugin"; exit 77; }
LOAD=$SM_BUILDDIR/tests/bench/milter_load
RPORT=6390
RCLI=(redis-cli -p "$RPORT" --no-auth-warning --user admin --pass adm1n)
# the minimal ACL the README gives the milter's user; admin inspects and slows Redis down
ACL=("user default off" "user admin on >adm1n ~* +@all"
     "user sm on >s3cr3t-redis ~ses-milter:* +get +set +pttl +eval +del +time +incr +incrby +pexpire")

# --- the SES endpoint: a verified domain, a verified address; the rest unknown ---------
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
 },
 "suppressed": {"bounced@example.org": {"Reason": "BOUNCE"}}}
EOF_FIX
python3 "$SM_SRCDIR/tests/ses/ses_endpoint.py" --fixture "$W/fixture.json" --port-file "$W/run/ses.port" \
    > "$W/ses-endpoint.log" 2>&1 & TB_PIDS+=($!)
for _ in $(seq 100); do [ -s "$W/run/ses.port" ] && break; sleep 0.1; done
port=$(cat "$W/run/ses.port" 2>/dev/null) || { echo "SES endpoint did not start"; exit 1; }
stats() { python3 -c "import json,urllib.request; c=json.load(urllib.request.urlopen('http://127.0.0.1:$port/__stats'))['counts']; print(c.get('$1',0))"; }
reset() { curl -s -X POST "http://127.0.0.1:$port/__reset" >/dev/null; }

# --- Redis with an ACL user and no default user ------------------------------------
tb_start_redis "$RPORT" "enable-debug-command local" "${ACL[@]}" || exit 1
printf 's3cr3t-redis\n' > "$W/redis.pw"; printf 'wrong\n' > "$W/redis-wrong.pw"
chmod 600 "$W/redis.pw" "$W/redis-wrong.pw"

mkdir -p "$W/plugins" "$W/audit"; chown nobody:nogroup "$W/audit"
install -m 644 "$SM_BUILDDIR/plugins/ses/.libs/ses.so" "$W/plugins/"
export AWS_ACCESS_KEY_ID=AKIDREDISTEST AWS_SECRET_ACCESS_KEY=redisSecretKeyDoNotLog
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_SESV2

# host NAME [PWFILE] [TIMEOUT_MS] - configure and start one ses-milter host; PID in PID_NAME
# (WARMUP=S: list the identities at start and every S seconds, default none; SRCX: more source
# settings; EXTRA: more groups)
host() {
    local n=$1 pw=${2:-$W/redis.pw} conf=$W/milter-$1.conf
    tb_milter_conf "$conf" <<EOC
scope: { internal_networks = [ "127.0.0.0/8", "192.0.2.0/24" ]; };
identity: {
  plugin_dir = "$W/plugins";
  sources = ( { name = "ses-us"; plugin = "ses"; region = "us-east-1";
                endpoint = "http://127.0.0.1:$port"; insecure_http = true;
                credentials_source = "env"; rate = 500; burst = 500; warmup_interval = ${WARMUP:-0}; ${SRCX:-} } );
  check_envelope_from = false;
  lookup_timeout_ms = 3000;
};
state: { backend = "redis"; address = "127.0.0.1:$RPORT"; user = "sm"; password_file = "$pw";
         timeout_ms = ${3:-200}; };
audit: { file = "$W/audit/$n.jsonl"; recipients = "plain"; fsync = "never"; };
${EXTRA:-}
EOC
    sed -i "s|$W/run/milter.sock|$W/run/$n.sock|; s|$W/run/milter.pid|$W/run/$n.pid|" "$conf"
    rm -f "$W/run/$n.sock"
    "$SM_BUILDDIR/ses-milter" -f -c "$conf" >> "$W/$n.log" 2>&1 &
    eval "PID_$n=\$!"; TB_PIDS+=($!)
    for _ in $(seq 200); do [ -S "$W/run/$n.sock" ] && return 0; sleep 0.05; done
    echo "ses-milter $n did not start"; cat "$W/$n.log"; return 1
}
# corpus DIR FROM... - one message per sender
corpus() {
    local d=$1 f i=0; shift; mkdir -p "$d"
    for f in "$@"; do
        i=$((i + 1))
        printf '#env from %s\n#env rcpt bob@example.org\nFrom: %s\nTo: bob@example.org\nSubject: t%d\n\nbody\n' \
            "$f" "$f" "$i" > "$d/m$i.eml"
    done
}
# rcorpus DIR FROM RCPT... - one message per recipient
rcorpus() {
    local d=$1 f=$2 r i=0; shift 2; mkdir -p "$d"
    for r in "$@"; do
        i=$((i + 1))
        printf '#env from %s\n#env rcpt %s\nFrom: %s\nTo: %s\nSubject: r%d\n\nbody\n' \
            "$f" "$r" "$f" "$r" "$i" > "$d/m$i.eml"
    done
}
# drive HOST CORPUS N [opts] - N messages; prints the RESULT line
drive() { "$LOAD" -q -s "unix:$W/run/$1.sock" -n "$3" -c "${4:-2}" "$2" 2>>"$W/load.err" | grep '^RESULT'; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

# --- 1. two hosts share positive and negative answers ------------------------------
corpus "$W/c1" alice@addr.example carol@verified.example dave@unknown.example
host a || exit 1
host b || exit 1
# every command Redis runs while host A asks SES (the budget's per-second keys live 2 s:
# looked for afterwards, under load they may be gone)
"${RCLI[@]}" MONITOR >"$W/monitor.log" 2>&1 &
mon=$!
ra=$(drive a "$W/c1" 30)
kill "$mon" 2>/dev/null; wait "$mon" 2>/dev/null
tb_check "host A: verified senders accepted, the unknown one refused" \
    test "$(field accept "$ra")/$(field reject "$ra")/$(field errors "$ra")" = "$(( $(field accept "$ra") ))/$(( 30 - $(field accept "$ra") ))/0"
tb_check "host A asked SES" test "$(stats GetEmailIdentity)" -ge 3
reset
rb=$(drive b "$W/c1" 30)
tb_check "host B makes 0 SES calls: every answer came from Redis" test "$(stats GetEmailIdentity)" = 0
# cacheof HOST - the distinct cache origins of the From lookups in HOST's audit records
cacheof() { python3 -c 'import json,sys
print(" ".join(sorted({l["cache"] for r in map(json.loads, open(sys.argv[1])) for l in r["lookups"] if l["role"] == "from" and l["cache"]})))' "$W/audit/$1.jsonl"; }
tb_check "host A's audit records: its own answers were misses (then hits)" test "$(cacheof a)" = "hit miss"
tb_check "host B's audit records say where its answers came from: redis (then hits)" test "$(cacheof b)" = "hit redis"
tb_check "host B gives the same verdicts as host A" \
    test "$(field accept "$rb")/$(field reject "$rb")/$(field tempfail "$rb")" = "$(field accept "$ra")/$(field reject "$ra")/$(field tempfail "$ra")"
tb_check "answers are under ses-milter:v1:id:INSTANCE:KIND:IDENTITY" \
    test "$("${RCLI[@]}" EXISTS 'ses-milter:v1:id:ses-us:a:alice@addr.example')" = 1
ttl=$("${RCLI[@]}" PTTL 'ses-milter:v1:id:ses-us:d:unknown.example')
tb_check "a negative answer is shared with the negative TTL (60 s)" test "$ttl" -gt 0 -a "$ttl" -le 60000
tb_check "the attributes are shared (DKIM of verified.example)" \
    grep -q 'SUCCESS	AWS_SES' <<<"$("${RCLI[@]}" GET 'ses-milter:v1:id:ses-us:d:verified.example')"
tb_check "the API budget of both hosts is one counter in Redis" \
    grep -q '"EVAL".*"ses-milter:v1:budget:ses-us' "$W/monitor.log"

# --- 1b. single flight across hosts: both ask for a new sender at once, SES is slow --------
corpus "$W/n1" someone@new1.example; corpus "$W/n2" someone@new2.example
reset; drive a "$W/n1" 1 1 >/dev/null; alone=$(stats GetEmailIdentity)
curl -s -X POST "http://127.0.0.1:$port/__mode?ses=slow:600" >/dev/null
reset
drive a "$W/n2" 1 1 > "$W/sa" & da=$!
drive b "$W/n2" 1 1 > "$W/sb" & db=$!
wait "$da" "$db"
curl -s -X POST "http://127.0.0.1:$port/__mode?ses=ok" >/dev/null
tb_check "single flight: two hosts asking at once make the calls of one ($alone)" \
    test "$(stats GetEmailIdentity)" = "$alone"
tb_check "single flight: both hosts answered (refused: unknown sender)" \
    test "$(field reject "$(cat "$W/sa")")/$(field reject "$(cat "$W/sb")")" = 1/1

# --- 1c. a reload (SIGHUP, unprivileged daemon): the password file is served by the helper -
kill -HUP "$PID_b"
for _ in $(seq 100); do grep -q 'reloaded\|reload refused' "$W/b.log" && break; sleep 0.05; done
tb_check "reload with a root-only password file: reloaded" grep -q 'configuration .* reloaded' "$W/b.log"
corpus "$W/n3" carol@verified.example
reset; r1c=$(drive b "$W/n3" 1 1)
tb_check "after the reload host B still reads host A's answers (0 SES calls)" \
    test "$(field accept "$r1c")/$(stats GetEmailIdentity)" = 1/0

# --- 1d. a warm-up is written through: a host that never asked starts warm -------------
# Redis emptied, then host C lists the identities at start (ListEmailIdentities) and has no
# mail; host D (no warm-up) then gets mail from exactly those identities
"${RCLI[@]}" FLUSHALL >/dev/null
reset
WARMUP=3600 host c || exit 1
for _ in $(seq 100); do grep -q 'warm-up: .* identities' "$W/c.log" && break; sleep 0.05; done
tb_check "host C warmed up from ListEmailIdentities" grep -q 'warm-up: 2 identities' "$W/c.log"
tb_check "the warm-up answers are in Redis" \
    test "$("${RCLI[@]}" EXISTS 'ses-milter:v1:id:ses-us:a:alice@addr.example' 'ses-milter:v1:id:ses-us:d:verified.example')" = 2
ttl=$("${RCLI[@]}" PTTL 'ses-milter:v1:id:ses-us:d:verified.example')
tb_check "a warm-up answer is shared with the positive TTL (300 s)" test "$ttl" -gt 60000 -a "$ttl" -le 300000
# (D relays directly: the alignment prediction needs no SES DKIM / MAIL FROM details, which a
# list does not carry.  The sender is an address identity: for carol@verified.example the
# chain first asks about the address itself, which no list names)
corpus "$W/cw" alice@addr.example
EXTRA='alignment: { relay = "direct"; };' host d || exit 1
reset
rd=$(drive d "$W/cw" 10 1)
tb_check "host D: an identity only host C warmed, every message accepted" test "$(field accept "$rd")" = 10
tb_check "host D makes 0 identity calls to SES (GetEmailIdentity, ListEmailIdentities)" \
    test "$(stats GetEmailIdentity)/$(stats ListEmailIdentities)" = 0/0
tb_check "host D's audit records: the warm answer came from redis" test "$(cacheof d)" = "hit redis"

# --- 1e. suppression answers are shared: host H asks SES about no address host G asked ----
# (GetSuppressedDestination, with its own TTLs; keyed by a hash, never the address itself)
SUPP='suppression = true; suppressed_ttl = 3600; not_suppressed_ttl = 600;'
SUPX='ses: { suppression: { action = "refuse"; }; };'
rcorpus "$W/cs" alice@addr.example bounced@example.org bob@example.org
SRCX=$SUPP EXTRA=$SUPX host g || exit 1
SRCX=$SUPP EXTRA=$SUPX host h || exit 1
reset
rg=$(drive g "$W/cs" 10 1)
echo "# G: $rg"
tb_check "host G: the suppressed recipient refused, the other accepted (10 messages)" \
    test "$(field accept "$rg")/$(field reject "$rg")/$(field errors "$rg")" = "$(field accept "$rg")/$(( 10 - $(field accept "$rg") ))/0" -a "$(field accept "$rg")" -gt 0 -a "$(field reject "$rg")" -gt 0
tb_check "host G asked SES about each recipient once" test "$(stats GetSuppressedDestination)" = 2
skeys=$("${RCLI[@]}" --scan --pattern 'ses-milter:v1:supp:ses-us:*' | sort)
tb_check "two suppression answers under ses-milter:v1:supp:ses-us:HASH" \
    test "$(grep -cE '^ses-milter:v1:supp:ses-us:[0-9a-f]{64}$' <<<"$skeys")" = 2
tb_check "no recipient address in a key name" bash -c "! grep -q example <<<'$skeys'"
sttl=$(for k in $skeys; do "${RCLI[@]}" PTTL "$k"; done | sort -n | tr '\n' ' ')
read -r t_clear t_supp <<<"$sttl"
tb_check "each answer shared with its own TTL (clear <= 600 s < suppressed <= 3600 s)" \
    test "$t_clear" -gt 0 -a "$t_clear" -le 600000 -a "$t_supp" -gt 600000 -a "$t_supp" -le 3600000
reset
rh=$(drive h "$W/cs" 10 1)
tb_check "host H gives host G's verdicts" \
    test "$(field accept "$rh")/$(field reject "$rh")/$(field errors "$rh")" = "$(field accept "$rg")/$(field reject "$rg")/0"
tb_check "host H makes 0 GetSuppressedDestination calls" test "$(stats GetSuppressedDestination)" = 0
tb_check "host H's audit records: suppression answers from redis (then hits)" \
    test "$(python3 -c 'import json,sys
print(" ".join(sorted({s["cache"] for r in map(json.loads, open(sys.argv[1])) for s in (r.get("suppression") or [])})))' "$W/audit/h.jsonl")" = "hit redis"

# --- 2. a wrong password: "down" with the reason, mail still checked by SES ----------
reset
host w "$W/redis-wrong.pw" || exit 1
rw=$(drive w "$W/c1" 9)
tb_check "wrong Redis password: every message checked by SES (none tempfailed)" \
    test "$(( $(field accept "$rw") + $(field reject "$rw") ))/$(field errors "$rw")/$(( $(stats GetEmailIdentity) > 0 ))" = "9/0/1"
tb_check "wrong Redis password: logged once as down, with the AUTH error" \
    test "$(grep -c 'state: Redis .* down: AUTH as sm' "$W/w.log")" = 1
tb_check "no secret in any log" bash -c "! grep -q -e s3cr3t-redis -e redisSecretKeyDoNotLog '$W'/*.log"

# --- 3. Redis killed mid-load: nothing lost, nothing unchecked -----------------------
senders() { for i in $(seq "$2"); do echo "u$i@$1"; done; }
corpus "$W/cv" $(senders verified.example 300)
corpus "$W/cu" $(senders unknown2.example 300)
drive a "$W/cv" 600 4 > "$W/rv" & lv=$!
drive a "$W/cu" 600 4 > "$W/ru" & lu=$!
sleep 0.5
tb_stop_redis -9
wait "$lv" "$lu"
rv=$(cat "$W/rv"); ru=$(cat "$W/ru")
echo "# verified: $rv"; echo "# unknown:  $ru"
tb_check "Redis killed mid-load: 600 verified messages, each accepted or tempfailed, none lost" \
    test "$(field msgs "$rv")/$(( $(field accept "$rv") + $(field tempfail "$rv") ))/$(field errors "$rv")" = "600/600/0"
tb_check "Redis killed mid-load: 600 unknown-sender messages, each refused or tempfailed, none accepted" \
    test "$(field msgs "$ru")/$(( $(field reject "$ru") + $(field tempfail "$ru") ))/$(field accept "$ru")" = "600/600/0"
tb_check "Redis killed: 'down' logged once" test "$(grep -c 'state: Redis .* down' "$W/a.log")" = 1

# --- 4. Redis restarted: "back" logged once, answers shared again --------------------
tb_start_redis "$RPORT" "enable-debug-command local" "${ACL[@]}" || exit 1
sleep 5.5 # the longest backoff
corpus "$W/c4" $(senders verified.example 20 | sed 's/^u/r/')
r4=$(drive a "$W/c4" 20 1)
tb_check "after the restart: every message accepted" test "$(field accept "$r4")" = 20
tb_check "Redis restarted: 'back' logged once" test "$(grep -c 'state: Redis [^ ]* back$' "$W/a.log")" = 1
reset
r4b=$(drive b "$W/c4" 20 1)
tb_check "after the restart host B again makes 0 SES calls for host A's answers" \
    test "$(stats GetEmailIdentity)/$(field accept "$r4b")" = 0/20

# --- 5. a slow Redis: DEBUG SLEEP longer than the message deadline --------------------
corpus "$W/c5" $(senders verified.example 10 | sed 's/^u/s/')
"${RCLI[@]}" DEBUG SLEEP 4 >/dev/null & sl=$!
sleep 0.2
r5=$(drive a "$W/c5" 10 2)
tb_check "slow Redis (DEBUG SLEEP 4 s, deadline 3 s): every message accepted from SES" \
    test "$(field accept "$r5")/$(field errors "$r5")" = 10/0
wait "$sl"
tb_done
