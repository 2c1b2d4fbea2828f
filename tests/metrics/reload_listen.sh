#!/bin/bash
# reload_listen.sh - end to end: /metrics across reloads
#
# Proves: counters survive a reload (they count from the start of the process),
# ses_milter_reloads_total counts each reload by result; a changed metrics.listen
# is applied at the reload (the new port serves, the old one is closed); a reload
# refused for a bad metrics.listen says file:line and keeps the listener; a reload
# that removes the metrics group stops it.
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"
command -v curl >/dev/null || { echo "SKIP: curl missing"; exit 77; }

mkdir -p "$W/plugins"
install -m 644 "$SM_BUILDDIR/plugins/file/.libs/file.so" "$W/plugins/"
echo example.com > "$W/identities"
conf() { # conf METRICS-GROUP
    tb_milter_conf "$W/milter.conf" <<EOC
scope: { internal_networks = [ "127.0.0.0/8" ]; };
identity: {
  plugin_dir = "$W/plugins";
  sources = ( { name = "local"; plugin = "file"; path = "$W/identities"; } );
};
$1
EOC
}
scrape() { curl -s "http://127.0.0.1:$1/metrics"; }
val() { awk -v k="$2" '$1 == k { print $2 }' <<<"$1"; }
listening() { ss -Hltn "sport = :$1" | grep -c . >/dev/null; }
reload() { # reload WHAT-THE-LOG-SAYS: SIGHUP, wait for the n-th reload line
    local n; n=$(grep -cE 'reloaded \(version|reload refused' "$W/milter.log")
    kill -HUP "$TB_MILTER_PID"
    for _ in $(seq 100); do
        [ "$(grep -cE 'reloaded \(version|reload refused' "$W/milter.log")" -gt "$n" ] && break
        sleep 0.05
    done
}
P='ses_milter_messages_total{scope="internal_network",action="accept",reason="passed"}'
OK='ses_milter_reloads_total{result="success"}'
BAD='ses_milter_reloads_total{result="failure"}'

conf 'metrics: { listen = "127.0.0.1:9465"; };'
tb_start_milter "$W/milter.conf" || exit 1
tb_wait_port 9465 || exit 1
tb_start_postfix || exit 1
out=$(tb_swaks --from bob@example.com --to r@example.org --h-From bob@example.com --body x)
tb_check "a message is accepted" grep -q '250 2.0.0 Ok: queued' <<<"$out"
m=$(scrape 9465)
tb_check "before any reload: 1 message, 0 reloads" test "$(val "$m" "$P")/$(val "$m" "$OK")" = 1/0

reload
m=$(scrape 9465)
tb_check "a reload keeps the counters and counts itself" \
    test "$(val "$m" "$P")/$(val "$m" "$OK")/$(val "$m" "$BAD")" = 1/1/0

conf 'metrics: { listen = "127.0.0.1:9466"; };'
reload
tb_wait_port 9466
m=$(scrape 9466)
tb_check "a changed listen address is served after the reload" test "$(val "$m" "$OK")" = 2
tb_check "the counters came along" test "$(val "$m" "$P")" = 1
tb_check "the old address is closed" bash -c "! ss -Hltn 'sport = :9465' | grep -q ."
tb_check "the log says where /metrics moved" grep -q 'serving /metrics on 127.0.0.1:9466 instead of 127.0.0.1:9465' "$W/milter.log"

conf 'metrics: { listen = "127.0.0.1"; };'
reload
tb_check "a bad listen address refuses the reload with file:line" \
    grep -q "reload refused: $W/milter.conf:[0-9]*: metrics.listen: '127.0.0.1' is not ADDRESS:PORT (an IPv4" "$W/milter.log"
m=$(scrape 9466)
tb_check "the refused reload is counted and the listener stays" \
    test "$(val "$m" "$OK")/$(val "$m" "$BAD")" = 2/1

conf ''
reload
for _ in $(seq 50); do listening 9466 || break; sleep 0.05; done
tb_check "a reload without the metrics group stops the listener" bash -c "! ss -Hltn 'sport = :9466' | grep -q ."
tb_check "the log says so" grep -q 'metrics: /metrics on 127.0.0.1:9466 stopped' "$W/milter.log"
conf 'metrics: { listen = "127.0.0.1:9465"; };'
reload
tb_wait_port 9465
m=$(scrape 9465)
tb_check "a reload that adds the group starts it again, counters kept" \
    test "$(val "$m" "$P")/$(val "$m" "$OK")/$(val "$m" "$BAD")" = 1/4/1
tb_stop_milter
tb_check "stopped cleanly: nothing listens" bash -c "! ss -Hltn | grep -q ':946[56]'"
tb_done
