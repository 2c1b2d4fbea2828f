#!/bin/bash
# start_refuses_unsafe_files.sh - as root, ses-milter refuses to start on a file it would
# open through a symbolic link or a plugin it must not trust, says which file and why,
# and leaves the file a planted link points to untouched.
#
# Table: name | what to plant (shell) | the reason expected in the output | plugin_dir
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"
mkdir -p "$W/plugins" "$W/audit" "$W/open"
chmod 755 "$W/plugins" "$W/open"; chown nobody:nogroup "$W/audit"
install -m 644 -o root -g root "$SM_BUILDDIR/plugins/file/.libs/file.so" "$W/plugins/"
printf 'example.com\n' > "$W/ids.txt"

conf() { # conf PLUGIN_DIR PLUGIN
    tb_milter_conf "$W/milter.conf" <<EOC
scope: { internal_networks = [ "10.0.0.0/8" ]; };
identity: { plugin_dir = "$1"; sources = ( { name = "local"; plugin = "$2"; path = "$W/ids.txt"; } ); };
unsubscribe: { token_key_file = "$W/unsub.key";
  rules = ( { name = "n"; senders = [ "news.example.com" ]; url = "https://e.example/u/%{token}";
              multi_recipient = "skip"; } ); };
audit: { file = "$W/audit/audit.jsonl"; recipients = "plain"; };
EOC
}

cases=(
"audit_log_symlink|ln -s $W/victim $W/audit/audit.jsonl|audit/audit.jsonl: is a symbolic link (refused)"
"pid_file_symlink|ln -s $W/victim $W/run/milter.pid|milter.pid: is a symbolic link (refused)"
"audit_log_hard_link|ln $W/victim $W/audit/audit.jsonl|audit.jsonl: has other hard links (refused)"
"unsub_key_symlink|mv $W/unsub.key $W/unsub.real; ln -s $W/unsub.real $W/unsub.key|unsub.key: is a symbolic link (refused)"
"plugin_symlink|mv $W/plugins/file.so $W/file.real; ln -s $W/file.real $W/plugins/file.so|plugins/file.so: is a symbolic link (refused)"
"plugin_owned_by_run_user|chown nobody $W/plugins/file.so|plugins/file.so: unsafe: owned by uid 65534"
"plugin_dir_parent_writable_by_others|mkdir -p $W/open/p; chmod 777 $W/open; cp -p $W/plugins/file.so $W/open/p/|$W/open: unsafe: writable by others|$W/open/p"
)
rc=0
for c in "${cases[@]}"; do
    IFS='|' read -r name plant expect pdir <<< "$c"
    # a fresh state for each case
    rm -rf "$W/audit/"* "$W/run/"* "$W/unsub.real" "$W/file.real" "$W/open/p"; chmod 755 "$W/open"
    rm -f "$W/unsub.key" "$W/plugins/file.so" "$W/victim"
    # the victim: what a planted link points to (its content, owner and mode must not change)
    printf 'precious\n' > "$W/victim"; chmod 600 "$W/victim"
    "$SM_BUILDDIR/ses-milter-token" genkey "$W/unsub.key" >/dev/null
    install -m 644 -o root -g root "$SM_BUILDDIR/plugins/file/.libs/file.so" "$W/plugins/"
    conf "${pdir:-$W/plugins}" file
    eval "$plant"
    out=$(timeout 5 "$SM_BUILDDIR/ses-milter" -f -c "$W/milter.conf" 2>&1)
    status=$?
    victim=$(cat "$W/victim"; stat -c '%U:%G %a' "$W/victim")
    if [ "$status" = 0 ] || [ "$status" = 124 ]; then
        echo "FAIL $name: ses-milter started (status $status)"; rc=1
    elif ! grep -qF -- "$expect" <<< "$out"; then
        echo "FAIL $name: expected \"$expect\", got: $out"; rc=1
    elif [ "$victim" != "$(printf 'precious\nroot:root 600')" ]; then
        echo "FAIL $name: the link's target changed: $victim"; rc=1
    else
        echo "PASS $name: $(tail -1 <<< "$out")"
    fi
    rm -f "$W/audit/audit.jsonl"
done
exit $rc
