#!/bin/bash
# state_conf_errors.sh - every wrong "state" setting is refused by ses-milter -n with
# "file:line: reason" naming the setting's line (table: settings -> line, reason)
set -uo pipefail
: "${SM_BUILDDIR:?}"
W=$(mktemp -d /tmp/sm-state-conf.XXXXXX); trap 'rm -rf "$W"' EXIT
printf 'pw\n' > "$W/pw"; chmod 600 "$W/pw"; : > "$W/empty"; chmod 600 "$W/empty"
pass=0 fail=0
grep -q '^S\["HAVE_HIREDIS_TRUE"\]=""' "$SM_BUILDDIR/config.status" || { echo "SKIP: built without hiredis"; exit 77; }
# row NAME SETTING EXPECTED-REASON-REGEX  (SETTING is on line 3 of the file)
row() {
    printf 'log: { level = "info"; };\nstate: {\n  %s\n};\n' "$2" > "$W/c.conf"
    out=$("$SM_BUILDDIR/ses-milter" -n -c "$W/c.conf" 2>&1)
    if grep -Eq "$W/c.conf:3: $3" <<<"$out"; then echo "ok - $1"; pass=$((pass + 1))
    else echo "not ok - $1: $out"; fail=$((fail + 1)); fi
}
row "an unknown backend"          'backend = "memcached";'              "backend 'memcached'"
row "an address without a port"   'address = "127.0.0.1";'              "address '127.0.0.1': expected"
row "a port out of range"         'address = "127.0.0.1:70000";'        "address .*expected"
row "a relative unix socket"      'address = "unix:redis.sock";'        "address .*expected"
row "a prefix with a space"       'prefix = "a b";'                     "prefix must be"
row "a timeout of 0"              'timeout_ms = 0;'                     ".*timeout_ms"
row "a misspelt setting"          'adress = "127.0.0.1:6379";'          ".*adress"
row "a user without password_file" 'user = "sm";'                       "user needs password_file"
row "a missing password file"     "password_file = \"$W/none\";"        ".*none"
row "an empty password file"      "password_file = \"$W/empty\";"       ".*the first line must hold the password"
# TLS: refused with the reason where the build has no hiredis_ssl (Debian 12's 0.14.1)
if ! grep -q '^S\["HAVE_HIREDIS_SSL_TRUE"\]=""' "$SM_BUILDDIR/config.status"; then
    row "tls without hiredis_ssl"  'tls = true;'                        "tls: this build has no TLS to Redis"
fi
printf 'log: { level = "info"; };\nstate: { address = "unix:/run/redis/redis.sock"; password_file = "%s"; user = "sm"; };\n' "$W/pw" > "$W/c.conf"
out=$("$SM_BUILDDIR/ses-milter" -n -c "$W/c.conf" 2>&1)
# the start checks (socket directory, user) fail outside an installation; the group itself passes
if grep -q '^state.address = "unix:/run/redis/redis.sock";$' <<<"$out" && ! grep -q "c.conf:[0-9]" <<<"$out" &&
    ! grep -q '"pw"' <<<"$out"; then
    echo "ok - a valid state group is accepted, shown by -n without the password"; pass=$((pass + 1))
else echo "not ok - a valid state group is accepted: $out"; fail=$((fail + 1)); fi
echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]
