#!/bin/bash
# audit_disk_full_on_error_honoured.sh - the audit log's file system fills up, for both on_error settings
#
# The audit directory is a small tmpfs mounted inside the test's namespace;
# it is filled up (one page left, so that one record is cut short) while
# Postfix sends counted mail, then space is freed.  Proves, per setting:
#   on_error = "tempfail": no message is accepted without its record (every
#     relayed message has one, the rest is tempfailed 451 4.3.0 and stays with
#     the client), no refusal;
#   on_error = "continue": mail keeps flowing (all accepted and relayed), and
#     every relayed message without a record has "audit record not written"
#     logged with its queue id;
# for both: a cut-short write leaves no partial line (ses-milter-audit verify
# accepts the chain), the daemon stays up, and once space is free the next
# message is served with its record.  Short: 60 messages per setting; soak
# (SM_FAULT_SOAK=1): 2000.
. "$SM_SRCDIR/tests/lib/testbed.sh"
tb_enter_ns "$@"
. "$SM_SRCDIR/tests/faults/lib.sh"
if [ "$FL_SOAK" = 1 ]; then N=2000; else N=60; fi
fl_identities "$W/identities" faults.example
tb_start_postfix || exit 1

for mode in tempfail continue; do
    A=$W/audit-$mode
    mkdir -p "$A"
    mount -t tmpfs -o "size=256k,mode=0755,uid=$(id -u nobody),gid=$(getent group nogroup | cut -d: -f3)" tmpfs "$A" || exit 1
    fl_milter_conf "$W/milter.conf" <<EOC
scope: { internal_networks = [ "127.0.0.0/8" ]; };
identity: { plugin_dir = "$W/plugins";
  sources = ( { name = "local"; plugin = "file"; path = "$W/identities"; } ); };
audit: { file = "$A/audit.jsonl"; recipients = "plain"; fsync = "always"; on_error = "$mode"; };
EOC
    fl_start "$W/milter.conf" || exit 1
    fl_probe "audit-$mode: before the disk fills" || exit 1
    # fill the file system, then give one page back: a few records fit, one is cut short
    dd if=/dev/zero of="$A/filler" bs=4k 2>/dev/null
    truncate -s -4096 "$A/filler"
    fl_client "full$mode" "$N" 2 --from a@faults.example --from b@faults.example
    fl_client_wait
    fl_drain
    if [ "$mode" = tempfail ]; then
        fl_tally "audit-full-$mode" "full$mode" --audit "$A/audit.jsonl" || exit 1
        fl_assert_books "audit-$mode"
        tb_check "audit-$mode: the full disk was met: messages tempfailed ($FL_tempfailed > 0)" test "$FL_tempfailed" -gt 0
        tb_check "audit-$mode: every relayed message has its audit record ($FL_audited of $FL_relayed)" \
            test "$FL_audited" = "$FL_relayed"
        tb_check "audit-$mode: the tempfail is 451 4.3.0 (audit log unavailable)" \
            grep -q 'reply="451 4.3.0' "$W/milter.log"
    else
        fl_tally "audit-full-$mode" "full$mode" || exit 1
        fl_assert_books "audit-$mode"
        tb_check "audit-$mode: mail keeps flowing: all $N accepted" test "$FL_accepted" = "$N"
        unrecorded=0 unlogged=0
        while read -r q; do
            grep -q "\"qid\":\"$q\"" "$A/audit.jsonl" && continue
            unrecorded=$((unrecorded + 1))
            grep -q "$q: audit record not written" "$W/milter.log" || unlogged=$((unlogged + 1))
        done < <(grep -h -o '(Postfix) with ESMTP id [0-9A-F]*' $(grep -l "Message-ID: <full$mode\." "$W"/capture/*) |
                 awk '{print $5}')
        echo "audit-$mode: relayed without a record: $unrecorded, of which without the error logged: $unlogged"
        tb_check "audit-$mode: the full disk was met ($unrecorded relayed without a record)" test "$unrecorded" -gt 0
        tb_check "audit-$mode: each relayed message without a record has the error logged with its queue id" \
            test "$unlogged" = 0
    fi
    tb_check "audit-$mode: no partial record: the chain verifies" \
        "$SM_BUILDDIR/ses-milter-audit" verify "$A/audit.jsonl"
    tb_check "audit-$mode: the daemon is still up" fl_alive
    rm -f "$A/filler"
    fl_probe "audit-$mode: space freed"
    tb_check "audit-$mode: the message after the space was freed has its record" \
        bash -c "tail -1 '$A/audit.jsonl' | grep -q '\"qid\":\"$(grep -o '[0-9A-F]*: action=accept' "$W/milter.log" | tail -1 | cut -d: -f1)\"'"
    tb_stop_milter
    umount "$A"
done
tb_done
