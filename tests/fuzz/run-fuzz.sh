#!/bin/sh
# run-fuzz.sh - build the seed corpus from the test-data mail headers and fuzz the
# address parser for SECONDS seconds.
#
# usage: tests/fuzz/run-fuzz.sh SECONDS BUILDDIR
#   BUILDDIR was configured with --enable-fuzzing CC=clang and built with make, so
#   that BUILDDIR/tests/fuzz/fuzz_addr exists.  The test data is read from
#   $SM_TESTDATA (default: ../shared/testdata next to the source tree).  Seeds are
#   the address fields (From, Sender, To, Cc, Bcc, Reply-To, Resent-*) of every
#   message under mail/, the address.json vectors (when python3 is there) and a few
#   hand-written envelope paths.  New corpus entries go to BUILDDIR/tests/fuzz/
#   addr-corpus, crashes to BUILDDIR/tests/fuzz/addr-crash-*.  Exit status is
#   libFuzzer's: 0 when no crash was found.  With SM_FUZZ_SEEDS_ONLY set it only
#   writes the seeds to BUILDDIR/tests/fuzz/addr-seeds (scripts/fuzz-long.sh).
set -eu

usage() {
    echo "usage: $0 SECONDS BUILDDIR" >&2
    exit 2
}
[ $# -eq 2 ] || usage
secs=$1
builddir=$2
case $secs in '' | *[!0-9]*) usage ;; esac

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
testdata=${SM_TESTDATA:-$srcdir/../shared/testdata}
bin=$builddir/tests/fuzz/fuzz_addr
[ -x "$bin" ] || {
    echo "$bin missing: ./configure --enable-fuzzing CC=clang && make" >&2
    exit 2
}
[ -d "$testdata/mail" ] || {
    echo "no test data in $testdata (set SM_TESTDATA)" >&2
    exit 2
}

out=$builddir/tests/fuzz
seeds=$out/addr-seeds
corpus=$out/addr-corpus
rm -rf "$seeds"
mkdir -p "$seeds" "$corpus"

# one seed file per address field of every message (headers only, folding kept)
n=0
find "$testdata/mail" -type f \( -name '*.eml' -o -name 'msg_*.txt' \) | sort |
    while IFS= read -r msg; do
        n=$((n + 1))
        awk -v dir="$seeds" -v base="m$n" '
            function flush() {
                if (cur != "") {
                    f = dir "/" base "-" k++
                    printf "%s", body > f
                    close(f)
                }
                cur = ""
                body = ""
            }
            NR == 1 && /^From / { next }
            /^\r?$/ { exit }
            /^[ \t]/ { if (cur != "") body = body "\n" $0; next }
            {
                flush()
                if (!match($0, /^[!-9;-~]+:/))
                    exit
                name = tolower(substr($0, 1, RLENGTH - 1))
                if (name ~ /^(resent-)?(from|sender|to|cc|bcc|reply-to)$/) {
                    cur = name
                    body = substr($0, RLENGTH + 1)
                }
            }
            END { flush() }' "$msg"
    done

# the 60 address.json vectors, raw
if command -v python3 >/dev/null 2>&1; then
    python3 - "$testdata/mail/stalwart-mail-parser/address.json" "$seeds" <<'PY'
import json, sys
for i, v in enumerate(json.load(open(sys.argv[1], encoding="utf-8"))):
    with open("%s/stalwart-%02d" % (sys.argv[2], i), "wb") as f:
        f.write(v["header"].encode("utf-8"))
PY
fi

# envelope paths as libmilter passes them
i=0
for p in '<a@b.test>' '<>' '<@r1.test,@r2.test:a@b.test>' '<"x y"@b.test>' \
    '<a@[192.0.2.1]>' '<jd\303\266e@m\303\244chine.example>' '<Postmaster>' \
    'a@b.test' '<a+label@b.test> SIZE=100'; do
    i=$((i + 1))
    printf '%s' "$p" >"$seeds/path-$i"
done

# scripts/fuzz-long.sh takes the seeds only
[ -z "${SM_FUZZ_SEEDS_ONLY:-}" ] || exit 0
echo "run-fuzz.sh: $(ls "$seeds" | wc -l) seeds, $secs s" >&2
exec "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
    -dict="$here/addr.dict" -artifact_prefix="$out/addr-crash-" -print_final_stats=1 \
    "$corpus" "$seeds"
