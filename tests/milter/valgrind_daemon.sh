#!/bin/bash
# valgrind_daemon.sh - the daemon under valgrind memcheck through three scenarios
# (identity gate verdicts, source tempfail with stale answers, unsubscribe rules):
# no memory error and no definite leak.
command -v valgrind >/dev/null || { echo "SKIP: valgrind missing"; exit 77; }
# a sanitizer build is checked by ASan itself; valgrind cannot run it
ldd "$SM_BUILDDIR/ses-milter" | grep -q libasan && { echo "SKIP: ASan build"; exit 77; }
# a TSan build links its runtime statically (clang): its symbols are in the program
grep -q __tsan_init "$SM_BUILDDIR/ses-milter" && { echo "SKIP: TSan build"; exit 77; }
rc=0
for c in gate_enforce_verdicts gate_tempfail_and_stale unsub_rules; do
    if SM_VALGRIND=1 bash "$SM_SRCDIR/tests/milter/run-case.sh" "$SM_SRCDIR/tests/milter/cases/$c.lua"; then
        echo "ok - $c under valgrind"
    else
        echo "not ok - $c under valgrind"; rc=1
    fi
done
exit $rc
