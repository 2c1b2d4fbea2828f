#!/bin/bash
# run-case.sh CASE.lua - run one miltertest scenario against a fresh ses-milter
#
# The scenario's configuration is CASE.conf beside it (sections after
# daemon/log), or default.conf.  Runs in the test bed's private namespace;
# the milter is started here and stopped by PID.
case_file=$(readlink -f "$1")
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"
dir=$(dirname "$case_file")
conf_src="${case_file%.lua}.conf"
[ -f "$conf_src" ] || conf_src="$dir/default.conf"
# a case may need DNS zones: CASE.zones lists "zone file" pairs relative to tests/
if [ -f "${case_file%.lua}.zones" ]; then
    while read -r zone file; do
        [ -n "$zone" ] && tb_start_nsd "$zone" "$SM_SRCDIR/tests/$file"
    done < "${case_file%.lua}.zones"
    tb_run_nsd || exit 1
fi
export WORK=$W
# a case may need the SES test endpoint: CASE.ses.json is its fixture (its "milter_env",
# else its first credentials, are the milter's); @SESPORT@ in the configuration and
# SESPORT in the case
SES_PORT=0
if [ -f "${case_file%.lua}.ses.json" ]; then
    python3 -c 'import botocore' 2>/dev/null || { echo "SKIP: python3 botocore missing"; exit 77; }
    python3 "$SM_SRCDIR/tests/ses/ses_endpoint.py" --fixture "${case_file%.lua}.ses.json" \
        --port-file "$W/run/ses.port" > "$W/ses-endpoint.log" 2>&1 & TB_PIDS+=($!)
    for _ in $(seq 100); do [ -s "$W/run/ses.port" ] && break; sleep 0.1; done
    SES_PORT=$(cat "$W/run/ses.port" 2>/dev/null) || { echo "SES endpoint did not start"; exit 1; }
    unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_SESV2
    # the milter's AWS_* variables: the fixture's "milter_env" (@SRCDIR@ replaced), else its
    # first credentials
    while IFS= read -r kv; do export "$kv"; done < <(python3 -c 'import json,sys
f = json.load(open(sys.argv[1])); c = f["credentials"][0]
env = f.get("milter_env") or {"AWS_ACCESS_KEY_ID": c["access_key_id"],
                              "AWS_SECRET_ACCESS_KEY": c["secret_access_key"]}
print("\n".join("%s=%s" % (k, v.replace("@SRCDIR@", sys.argv[2])) for k, v in env.items()
                if k.startswith("AWS_")))' \
        "${case_file%.lua}.ses.json" "$SM_SRCDIR")
fi
# a private plugin directory with safe permissions (root-owned, not group/other-writable)
mkdir -p "$W/plugins" "$W/audit"
chmod 755 "$W/plugins"; chown nobody:nogroup "$W/audit"
for so in plugins/file/.libs/file.so plugins/ses/.libs/ses.so tests/unit/.libs/plugin_test.so; do
    [ -f "$SM_BUILDDIR/$so" ] && install -m 644 -o root -g root "$SM_BUILDDIR/$so" "$W/plugins/"
done
sed "s|@WORK@|$W|g; s|@SESPORT@|$SES_PORT|g; s|@SRCDIR@|$SM_SRCDIR|g; s|@BUILDDIR@|$SM_BUILDDIR|g; s|@TESTDATA@|${SM_TESTDATA:-}|g" \
    "$conf_src" | tb_milter_conf "$W/milter.conf"
[ -x "${case_file%.lua}.setup" ] && { "${case_file%.lua}.setup" "$W" || exit 1; }
tb_start_milter "$W/milter.conf" || exit 1
timeout 120 miltertest -D SOCK="unix:$W/run/milter.sock" -D LIB="$SM_SRCDIR/tests/milter/lib.lua" \
    -D LOG="$W/milter.log" -D PIDFILE="$W/run/milter.pid" -D CONF="$W/milter.conf" \
    -D WORK="$W" -D SESPORT="$SES_PORT" -s "$case_file" 2>&1 | tee "$W/case.out"
rc=${PIPESTATUS[0]}
# miltertest's exit status alone is not trusted: a case must say PASS and never FAIL
grep -q '^PASS ' "$W/case.out" && ! grep -q '^FAIL ' "$W/case.out" || rc=1
tb_stop_milter || rc=1
if [ -n "${SM_VALGRIND:-}" ]; then
    # memcheck: no error and no definite leak in the daemon
    grep -q 'ERROR SUMMARY: 0 errors' "$W/valgrind.log" || { cat "$W/valgrind.log"; rc=1; }
    ! grep -q 'definitely lost: [1-9]' "$W/valgrind.log" || { cat "$W/valgrind.log"; rc=1; }
fi
exit $rc
