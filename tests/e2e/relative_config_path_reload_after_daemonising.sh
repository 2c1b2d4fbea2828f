#!/bin/bash
# relative_config_path_reload_after_daemonising.sh - "ses-milter -c ses-milter.conf" (a path
# relative to the directory it was started from) keeps reloading after the daemon has moved
# to "/": a SIGHUP reads the same file again.
#
# Proves: the daemon (no -f: it forks, detaches and changes to /) started with a relative -c
# refuses a sender its identity file does not list; after the file names the sender's domain
# and a SIGHUP, the same sender is accepted (before the fix the reload looked for
# "/ses-milter.conf" and kept the old configuration).
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"

mkdir -p "$W/plugins" "$W/etc"
install -m 644 "$SM_BUILDDIR/plugins/file/.libs/file.so" "$W/plugins/"
printf 'example.com\n' > "$W/etc/identities"
tb_milter_conf "$W/etc/ses-milter.conf" <<EOC
identity: {
  plugin_dir = "$W/plugins";
  sources = ( { name = "local"; plugin = "file"; path = "$W/etc/identities"; } );
};
EOC
tb_start_postfix || exit 1

(cd "$W/etc" && "$SM_BUILDDIR/ses-milter" -c ses-milter.conf) || { echo "ses-milter did not start"; exit 1; }
for _ in $(seq 100); do [ -s "$W/run/milter.pid" ] && [ -S "$W/run/milter.sock" ] && break; sleep 0.05; done
TB_MILTER_PID=$(cat "$W/run/milter.pid" 2>/dev/null)
tb_check "the daemon detached and wrote its PID file" kill -0 "${TB_MILTER_PID:-0}"

send() { tb_swaks --from "$1" --to bob@example.org --header "From: $1" --body "x"; }
tb_check "before the reload: alice@new.example (not listed) is refused with 5.7.1" \
    grep -q '^<\*\* *550 5.7.1' <<<"$(send alice@new.example)"

printf 'example.com\nnew.example\n' > "$W/etc/identities"
kill -HUP "$TB_MILTER_PID"
accepted() { grep -q '^<- *250 .*queued' <<<"$(send alice@new.example)"; }
reloaded=no
for _ in $(seq 50); do accepted && { reloaded=yes; break; }; sleep 0.1; done
tb_check "after a SIGHUP: the relative configuration was read again, new.example accepted" \
    test "$reloaded" = yes
tb_check "the daemon still runs after the reload" kill -0 "$TB_MILTER_PID"
tb_stop_milter
tb_done
