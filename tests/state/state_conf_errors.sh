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
row "sentinels without master_name" 'sentinels = [ "127.0.0.1:26379" ];'  "sentinels and master_name go together"
row "master_name without sentinels" 'master_name = "mymaster";'           "sentinels and master_name go together"
row "sentinels and address"       'address = "127.0.0.1:6379"; sentinels = [ "127.0.0.1:26379" ]; master_name = "m";' \
    "address and sentinels exclude each other"
row "a sentinel without a port"   'sentinels = [ "127.0.0.1" ]; master_name = "m";' "sentinel '127.0.0.1': expected"
# TLS (OpenSSL under hiredis 0.14): the files are read as root (privsep_open: no symbolic
# link) and must make a client context; a certificate and a key that do not match, made here
if command -v openssl >/dev/null; then
    (cd "$W" && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
        -subj /CN=c -keyout c.key -out c.crt && openssl genpkey -algorithm EC \
        -pkeyopt ec_paramgen_curve:P-256 -out other.key) > "$W/openssl.log" 2>&1
    chmod 600 "$W/c.key" "$W/other.key"; ln -s "$W/c.crt" "$W/link.crt"
    row "tls with a unix socket"      'address = "unix:/run/redis.sock"; tls = true;' "tls needs a host:port address"
    row "tls_ca_file without tls"     "tls_ca_file = \"$W/c.crt\";"       "tls_ca_file needs tls = true"
    row "tls_server_name without tls" 'tls_server_name = "redis.test";'   "tls_server_name needs tls = true"
    row "a missing CA file"           "tls = true; tls_ca_file = \"$W/none\";" ".*none"
    row "a CA file without a certificate" "tls = true; tls_ca_file = \"$W/empty\";" "no PEM certificate in the file"
    row "a CA file behind a symbolic link" "tls = true; tls_ca_file = \"$W/link.crt\";" ".*link.crt"
    row "a server name with a space"  'tls = true; tls_server_name = "a b";' "tls_server_name 'a b': expected"
    row "a client certificate without its key" "tls = true; tls_cert_file = \"$W/c.crt\";" \
        "tls_cert_file and tls_key_file go together"
    row "a key file that holds no key" "tls = true; tls_cert_file = \"$W/c.crt\"; tls_key_file = \"$W/pw\";" \
        "no unencrypted PEM private key in the file"
    row "a key that is not the certificate's" \
        "tls = true; tls_cert_file = \"$W/c.crt\"; tls_key_file = \"$W/other.key\";" \
        "the key does not match the certificate"
    printf 'log: { level = "info"; };\nstate: { tls = true; tls_ca_file = "%s"; tls_cert_file = "%s"; tls_key_file = "%s"; };\n' \
        "$W/c.crt" "$W/c.crt" "$W/c.key" > "$W/c.conf"
    out=$("$SM_BUILDDIR/ses-milter" -n -c "$W/c.conf" 2>&1)
    if grep -q "^state.tls_key_file = \"$W/c.key\";$" <<<"$out" && ! grep -q "c.conf:[0-9]" <<<"$out" &&
        ! grep -q 'PRIVATE KEY' <<<"$out"; then
        echo "ok - a valid TLS state group is accepted, shown by -n without the key"; pass=$((pass + 1))
    else echo "not ok - a valid TLS state group is accepted: $out"; fail=$((fail + 1)); fi
fi
printf 'log: { level = "info"; };\nstate: { address = "unix:/run/redis/redis.sock"; password_file = "%s"; user = "sm"; };\n' "$W/pw" > "$W/c.conf"
out=$("$SM_BUILDDIR/ses-milter" -n -c "$W/c.conf" 2>&1)
# the start checks (socket directory, user) fail outside an installation; the group itself passes
if grep -q '^state.address = "unix:/run/redis/redis.sock";$' <<<"$out" && ! grep -q "c.conf:[0-9]" <<<"$out" &&
    ! grep -q '"pw"' <<<"$out"; then
    echo "ok - a valid state group is accepted, shown by -n without the password"; pass=$((pass + 1))
else echo "not ok - a valid state group is accepted: $out"; fail=$((fail + 1)); fi
echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]
