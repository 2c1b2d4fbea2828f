#!/bin/bash
# identity_gate.sh - end to end: the identity gate in front of a real Postfix
#
# Proves: a client submitting mail from an unverified From sees 550 5.7.1 at
# submission time and the message never reaches the relay; mail from
# verified identities (address, domain, subdomain, +label) is delivered;
# every message gets an audit record that ses-milter-audit verify accepts and
# ses-milter-audit report counts.
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"

mkdir -p "$W/plugins" "$W/audit"; chown nobody:nogroup "$W/audit"
install -m 644 "$SM_BUILDDIR/plugins/file/.libs/file.so" "$W/plugins/"
cat > "$W/identities" <<'EOI'
# verified with the relay
example.com
alice@other.example
EOI
head -c 32 /dev/urandom > "$W/rcpt.key"; chmod 600 "$W/rcpt.key"   # root's secret
tb_milter_conf "$W/milter.conf" <<EOC
scope: { internal_networks = [ "127.0.0.0/8" ]; };
identity: {
  plugin_dir = "$W/plugins";
  sources = ( { name = "local"; plugin = "file"; path = "$W/identities"; } );
};
audit: { file = "$W/audit/audit.jsonl"; recipients = "hashed"; recipient_key_file = "$W/rcpt.key";
         fsync = "always"; };
EOC
tb_start_milter "$W/milter.conf" || exit 1
tb_start_postfix || exit 1

send() { # send FROM ENVFROM MARKER
    tb_swaks --from "$2" --to bob@example.org --h-From "$1" --header "X-Marker: $3" --body "marker $3"
}
captured() { grep -l "X-Marker: $1\$" "$W"/capture/* 2>/dev/null | head -1; }

out=$(send "Eve <eve@unverified.example>" eve@unverified.example m-unverified)
tb_check "unverified From: client sees 550 5.7.1 at submission" \
    grep -q '<\*\* 550 5.7.1 Sender identity <eve@unverified.example> is not verified for sending' <<<"$out"

n=0
for f in "bob@example.com" "x@mail.sub.example.com" "alice@other.example" "alice+list@other.example"; do
    n=$((n + 1))
    out=$(send "$f" bounce@example.com "m-ok-$n")
    tb_check "verified $f: queued" grep -q '250 2.0.0 Ok: queued' <<<"$out"
done
out=$(send "bob@example.com" bounce@unverified.example m-badenv)
tb_check "unverified envelope sender: 550 5.7.1" grep -q '<\*\* 550 5.7.1' <<<"$out"

tb_wait_capture 4
tb_check "verified mail reaches the relay" test -n "$(captured m-ok-4)"
sleep 0.5
tb_check "refused mail never reaches the relay" test -z "$(captured m-unverified)$(captured m-badenv)"

A="$SM_BUILDDIR/ses-milter-audit"
tb_check "audit: one record per message (6)" test "$(wc -l < "$W/audit/audit.jsonl")" -eq 6
tb_check "audit: recipients hashed with root's key (read before the privilege drop)" \
    bash -c "grep -q '\"rcpt_mode\":\"hashed\"' '$W/audit/audit.jsonl' && ! grep -q 'bob@example.org' '$W/audit/audit.jsonl'"
tb_check "audit: the log belongs to the user ses-milter runs as" test "$(stat -c %U "$W/audit/audit.jsonl")" = nobody
tb_check "audit: ses-milter-audit verify accepts the chain" "$A" verify "$W/audit/audit.jsonl"
"$A" report --format csv "$W/audit/audit.jsonl" > "$W/report.csv"
tb_check "audit: report counts the refusals" grep -Eq '(refus|reject)' "$W/report.csv"
# logrotate: rename, SIGUSR1, the chain goes on in the new file
mv "$W/audit/audit.jsonl" "$W/audit/audit.jsonl.1"
kill -USR1 "$TB_MILTER_PID"
for _ in $(seq 50); do grep -q "log files reopened" "$W/milter.log" && break; sleep 0.1; done
out=$(send "bob@example.com" bounce@example.com m-after-rotate)
tb_check "rotation: SIGUSR1 starts a new audit file" test "$(wc -l < "$W/audit/audit.jsonl" 2>/dev/null)" = 1
gzip "$W/audit/audit.jsonl.1"
tb_check "rotation: verify follows the chain from the gzipped file into the new one" \
    "$A" verify "$W/audit/audit.jsonl.1.gz" "$W/audit/audit.jsonl"
tb_check "rotation: the new file alone does not start at genesis" \
    bash -c "'$A' verify '$W/audit/audit.jsonl' 2>&1 | grep -qv 'genesis'"
zcat "$W/audit/audit.jsonl.1.gz" | sed '2d' > "$W/audit/cut.jsonl"
tb_check "audit: a deleted line is found by verify" bash -c "! '$A' verify '$W/audit/cut.jsonl' >/dev/null 2>&1"
tb_done
