#!/bin/bash
# testbed.sh - shared test bed: a private namespace, nsd, ses-milter, Postfix, smtp-sink
#
# Sourced by the milter-protocol and end-to-end tests.  Everything runs in a
# private network + mount namespace (loopback only, a bind-mounted
# resolv.conf), in a work folder under /tmp; every server is started here
# and stopped by PID when the test exits, pass or fail.  Every wait is
# bounded.
#
#   tb_enter_ns "$@"        re-exec the calling script inside unshare (call first)
#   tb_start_nsd ZONE FILE  serve a zone (repeatable; first call writes nsd.conf)
#   tb_milter_conf FILE     write a ses-milter config: daemon+log for the test bed,
#                           then the caller's sections from stdin
#   tb_start_milter CONF    start ses-milter -f; waits for its socket
#   tb_stop_milter          SIGTERM and wait
#   tb_start_postfix        throwaway Postfix on 127.0.0.1:10025 (smtpd_milters = ses-milter)
#                           + smtp-sink on 127.0.0.1:10027 capturing into $W/capture;
#                           TB_PF_CHROOT=1: each service chrooted as in Debian's master.cf
#   tb_wait_capture N       wait until N messages were captured
#   tb_start_redis PORT [redis.conf lines...]
#                           redis-server on 127.0.0.1:PORT, its own dir and config under
#                           $W/redis-PORT, no persistence; PID in TB_REDIS_PID (stopped at exit)
#   tb_stop_redis [-9]      stop the last redis-server started, by its PID, and wait
#
# In a ThreadSanitizer build (scripts/test.sh, make check-tsan) a report in the daemon's
# log (its stderr) fails the test at exit.

# pipefail: a pipeline fails when any part fails.  So never end a test pipeline with
# "grep -q": it exits at the first match, the writer dies of SIGPIPE, and the pipeline
# reads as false under load (a redis_tls SKIP under TSan came from ldd | grep -q).
# Use "grep -c PATTERN >/dev/null", which reads all of its input.
set -uo pipefail
: "${SM_BUILDDIR:?SM_BUILDDIR must name the build directory}"
: "${SM_SRCDIR:?SM_SRCDIR must name the source directory}"
TB_PIDS=()
TB_MILTER_PID=
TB_NSD_ZONES=()

tb_enter_ns() {
    if [ "${SM_TB_INSIDE:-}" != 1 ]; then
        if [ "$(id -u)" != 0 ]; then
            echo "SKIP: the test bed needs root (unshare, Postfix)"; exit 77
        fi
        export SM_TB_INSIDE=1
        exec unshare --mount --net --fork -- bash "$(readlink -f "$0")" "$@"
    fi
    W=$(mktemp -d /tmp/sm-tb.XXXXXX)
    chmod 755 "$W"
    mkdir -p "$W/run" "$W/dns" "$W/capture"
    chmod 1777 "$W/capture"
    ip link set lo up
    printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:2\n' > "$W/resolv.conf"
    mount --bind "$W/resolv.conf" /etc/resolv.conf
    trap tb_cleanup EXIT
}

tb_cleanup() {
    local rc=$?
    if [ -f "$W/pf/spool/pid/master.pid" ]; then
        kill "$(tr -d ' ' < "$W/pf/spool/pid/master.pid")" 2>/dev/null
    fi
    [ -n "$TB_MILTER_PID" ] && TB_PIDS+=("$TB_MILTER_PID")
    for p in "${TB_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${TB_PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null
    done
    # a ThreadSanitizer build: a report of the daemon (data race, lock misuse) fails the
    # test, whatever the test itself concluded; the daemon's stderr is milter.log
    if [ "$rc" != 77 ] && grep -q '^WARNING: ThreadSanitizer' "$W/milter.log" 2>/dev/null; then
        echo "not ok - ThreadSanitizer reported $(grep -c '^WARNING: ThreadSanitizer' "$W/milter.log") warning(s) in ses-milter:"
        sed -n '/^WARNING: ThreadSanitizer/,/^SUMMARY: ThreadSanitizer/p' "$W/milter.log" | head -150
        rc=1
    fi
    if [ "$rc" != 0 ] && [ -z "${SM_TB_KEEP:-}" ]; then
        echo "--- ses-milter log (last 40 lines)"; tail -40 "$W/milter.log" 2>/dev/null
        echo "--- postfix log (last 20 lines)"; tail -20 "$W/pf/maillog" 2>/dev/null
    fi
    [ -z "${SM_TB_KEEP:-}" ] && rm -rf --one-file-system "$W"
    exit "$rc"
}

tb_wait_port() { # tb_wait_port PORT [udp]
    local flag=-Hltn; [ "${2:-}" = udp ] && flag=-Hlun
    for _ in $(seq 100); do ss $flag "sport = :$1" | grep -c . >/dev/null && return 0; sleep 0.05; done
    echo "port $1 did not come up"; return 1
}

tb_start_nsd() { # tb_start_nsd ZONE FILE
    TB_NSD_ZONES+=("$1" "$2")
}

tb_run_nsd() {
    local conf="$W/dns/nsd.conf" i
    cat > "$conf" <<EOC
server:
  ip-address: 127.0.0.1
  port: 53
  username: ""
  chroot: ""
  zonesdir: "$W/dns"
  database: ""
  zonelistfile: "$W/dns/zone.list"
  xfrdfile: "$W/dns/xfrd.state"
  xfrdir: "$W/dns"
  pidfile: "$W/run/nsd.pid"
  server-count: 1
  verbosity: 0
  rrl-ratelimit: 0
remote-control:
  control-enable: no
EOC
    for ((i = 0; i < ${#TB_NSD_ZONES[@]}; i += 2)); do
        printf 'zone:\n  name: "%s"\n  zonefile: "%s"\n' "${TB_NSD_ZONES[i]}" "${TB_NSD_ZONES[i+1]}" >> "$conf"
    done
    nsd -d -c "$conf" > "$W/run/nsd.log" 2>&1 & TB_PIDS+=($!)
    tb_wait_port 53 udp
}

tb_start_redis() { # tb_start_redis PORT [redis.conf lines...]
    local port=$1 d=$W/redis-$1; shift
    mkdir -p "$d"
    { printf 'port %s\nbind 127.0.0.1\ndir %s\nsave ""\nappendonly no\n' "$port" "$d"
      printf 'logfile %s/redis.log\ndaemonize no\n' "$d"
      for l in "$@"; do printf '%s\n' "$l"; done; } > "$d/redis.conf"
    redis-server "$d/redis.conf" > "$d/stdout.log" 2>&1 & TB_REDIS_PID=$!; TB_PIDS+=($!)
    tb_wait_port "$port"
}

tb_stop_redis() { # tb_stop_redis [-9]
    [ -n "${TB_REDIS_PID:-}" ] || return 0
    kill ${1:-} "$TB_REDIS_PID" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$TB_REDIS_PID" 2>/dev/null || break; sleep 0.05; done
    wait "$TB_REDIS_PID" 2>/dev/null
    TB_REDIS_PID=
}

tb_milter_conf() { # tb_milter_conf FILE < sections
    {
        cat <<EOC
daemon: {
  socket = "unix:$W/run/milter.sock";
  socket_group = "postfix";
  socket_mode = "0660";
  user = "nobody";
  group = "nogroup";
  pid_file = "$W/run/milter.pid";
  shutdown_timeout = 5;
};
log: { level = "debug"; };
EOC
        cat
    } > "$1"
}

tb_start_milter() { # tb_start_milter CONF
    rm -f "$W/run/milter.sock"
    # SM_VALGRIND=1: run the daemon under valgrind (memcheck, leak check) for leak hunting
    if [ -n "${SM_VALGRIND:-}" ]; then
        valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
            --log-file="$W/valgrind.log" "$SM_BUILDDIR/ses-milter" -f -c "$1" >> "$W/milter.log" 2>&1 &
    else
        "$SM_BUILDDIR/ses-milter" -f -c "$1" >> "$W/milter.log" 2>&1 &
    fi
    TB_MILTER_PID=$!
    for _ in $(seq 400); do [ -S "$W/run/milter.sock" ] && return 0; sleep 0.05; done
    echo "ses-milter did not open its socket"; cat "$W/milter.log"; return 1
}

tb_stop_milter() {
    [ -n "$TB_MILTER_PID" ] || return 0
    kill "$TB_MILTER_PID" 2>/dev/null
    for _ in $(seq 300); do kill -0 "$TB_MILTER_PID" 2>/dev/null || break; sleep 0.05; done
    if kill -0 "$TB_MILTER_PID" 2>/dev/null; then
        echo "ses-milter did not stop on SIGTERM"; kill -9 "$TB_MILTER_PID"; TB_MILTER_PID=; return 1
    fi
    wait "$TB_MILTER_PID" 2>/dev/null
    TB_MILTER_RC=$?
    TB_MILTER_PID=
}

tb_start_postfix() { # tb_start_postfix [extra main.cf lines...]
    local P=$W/pf/etc
    mkdir -p "$P" "$W/pf/spool" "$W/pf/data"
    chown postfix "$W/pf/data"
    cat > "$P/main.cf" <<EOC
compatibility_level = 3.6
config_directory = $P
queue_directory = $W/pf/spool
data_directory = $W/pf/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.testbed.example
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains = example.org
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_authorized_xclient_hosts = 127.0.0.0/8
default_transport = smtp:[127.0.0.1]:10027
relay_transport = smtp:[127.0.0.1]:10027
smtp_dns_support_level = disabled
alias_maps =
local_recipient_maps =
biff = no
maillog_file = $W/pf/maillog
maillog_file_prefixes = $W
smtpd_milters = unix:$W/run/milter.sock
non_smtpd_milters = unix:$W/run/milter.sock
milter_default_action = tempfail
milter_protocol = 6
EOC
    local line name
    for line in "$@"; do # a setting already made above is replaced, others are added
        name=$(sed -n 's/^\([a-z0-9_]*\) *=.*/\1/p' <<<"$line")
        if [ -n "$name" ] && grep -q "^$name =" "$P/main.cf"; then
            grep -v "^$name =" "$P/main.cf" > "$P/main.cf.new" && mv "$P/main.cf.new" "$P/main.cf"
        fi
        echo "$line" >> "$P/main.cf"
    done
    # TB_MASTER_EXTRA: more master.cf services (e.g. a second smtpd after a content_filter)
    cat > "$P/master.cf" <<'EOC'
127.0.0.1:10025 inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
smtp      unix  - - n -  - smtp
relay     unix  - - n -  - smtp
showq     unix  n - n -  - showq
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
local     unix  - n n -  - local
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
EOC
    [ -n "${TB_MASTER_EXTRA:-}" ] && printf '%s\n' "$TB_MASTER_EXTRA" >> "$P/master.cf"
    [ -n "${TB_PF_CHROOT:-}" ] && tb_postfix_chroot "$P/master.cf"
    smtp-sink -u postfix -d "$W/capture/%M%S." 127.0.0.1:10027 100 & TB_PIDS+=($!)
    postfix -c "$P" check </dev/null || { script -qc "postfix -c $P check" /dev/null; return 1; }
    postfix -c "$P" start </dev/null >/dev/null 2>&1 || { echo "postfix start failed"; return 1; }
    tb_wait_port 10025 && tb_wait_port 10027
}

# tb_postfix_chroot MASTER_CF - the chroot column of every service as Debian ships it
# (/usr/share/postfix/master.cf.dist: smtpd, cleanup, pickup ... "y"; qmgr, local,
# proxymap, postlog "n"); our 127.0.0.1:10025 smtpd takes the "smtp inet" line's
tb_postfix_chroot() {
    local dist=/usr/share/postfix/master.cf.dist
    [ -r "$dist" ] || { echo "tb_postfix_chroot: no $dist"; return 1; }
    awk 'NR == FNR { if ($0 !~ /^[#[:space:]]/ && NF >= 8) c[$1 " " $2] = $5; next }
         /^[^#[:space:]]/ && NF >= 8 {
             k = ($2 == "inet" && $NF == "smtpd") ? "smtp inet" : $1 " " $2
             if (k in c) { $5 = c[k] }
         }
         { print }' "$dist" "$1" > "$1.new" && mv "$1.new" "$1"
}

# tb_zone NAME FILE - write a zone file header for NAME (SOA, NS, A) into FILE; append records after
tb_zone() {
    printf '$ORIGIN %s.\n$TTL 300\n@ IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300\n@ IN NS ns\nns IN A 127.0.0.1\n' \
        "$1" "$1" "$1" > "$2"
}

# tb_start_opendkim NAME MODE PORT [extra config lines] - opendkim on 127.0.0.1:PORT
tb_start_opendkim() {
    local name=$1 mode=$2 port=$3; shift 3
    {
        printf 'Mode %s\nSocket inet:%s@127.0.0.1\nBackground no\nNameservers 127.0.0.1\n' "$mode" "$port"
        printf 'UserID opendkim\nRequireSafeKeys no\n'
        local l; for l in "$@"; do echo "$l"; done
    } > "$W/opendkim-$name.conf"
    opendkim -f -x "$W/opendkim-$name.conf" > "$W/opendkim-$name.log" 2>&1 & TB_PIDS+=($!)
    tb_wait_port "$port"
}

tb_captured() { ls "$W"/capture/ 2>/dev/null | wc -l; }

tb_wait_capture() { # tb_wait_capture N
    for _ in $(seq 100); do [ "$(tb_captured)" -ge "$1" ] && return 0; sleep 0.1; done
    return 1
}

tb_last_capture() { ls -t "$W"/capture/* 2>/dev/null | head -1; }

# tb_swaks ARGS... - swaks against Postfix with bounded time
tb_swaks() { timeout 30 swaks --server 127.0.0.1 --port 10025 --timeout 20 "$@" 2>&1; }

# A tiny TAP-like reporter: tb_ok NAME / tb_nok NAME; tb_done prints the closing line.
TB_PASS=0; TB_FAIL=0
tb_ok() { echo "ok - $1"; TB_PASS=$((TB_PASS + 1)); }
tb_nok() { echo "not ok - $1"; TB_FAIL=$((TB_FAIL + 1)); }
tb_check() { # tb_check NAME COMMAND...
    local name=$1; shift
    if "$@"; then tb_ok "$name"; else tb_nok "$name"; fi
}
tb_done() { echo "$TB_PASS passed, $TB_FAIL failed"; [ "$TB_FAIL" -eq 0 ]; }
