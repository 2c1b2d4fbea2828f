#!/bin/bash
# include_boundaries.sh - the source tree follows its folders' "May include:" lines, and
# scripts/check-includes.sh catches each kind of violation (a check that cannot fail proves nothing)
set -uo pipefail
SRC=${SM_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
CHECK="$SRC/scripts/check-includes.sh"
fail=0
out=$(bash "$CHECK" "$SRC" 2>&1) || { echo "FAIL the tree itself:"; echo "$out"; fail=1; }
[ $fail = 0 ] && echo "ok the tree follows every folder README"

T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
# mk NAME: a miniature tree: lib (nothing), auth (lib), engine (lib, auth), one plugin
mk() {
    local r=$T/$1; mkdir -p "$r/src/lib" "$r/src/auth" "$r/src/engine" "$r/scripts" "$r/plugins/p"
    printf '# src/lib/\n\nMay include: nothing.\n' >"$r/src/lib/README.md"
    printf '# src/auth/\n\nMay include: lib.\n' >"$r/src/auth/README.md"
    printf '# src/engine/\n\nMay include: lib, auth.\n' >"$r/src/engine/README.md"
    printf '#include "lib/util.h"\n' >"$r/src/lib/util.c"; : >"$r/src/lib/util.h"
    printf '#include "lib/util.h"\n#include "auth/dkim.h"\n' >"$r/src/auth/dkim.c"; : >"$r/src/auth/dkim.h"
    printf '#include "auth/dkim.h"\n#include <stdio.h>\n' >"$r/src/engine/engine.c"
    printf '#include "config.h"\n#include "ses-milter/plugin.h"\n#include "p.h"\n' >"$r/plugins/p/p.c"
    : >"$r/plugins/p/p.h"; : >"$r/scripts/include-exceptions.txt"
    echo "$r"
}
# case NAME WANT_RC WANT_OUTPUT_PATTERN SETUP
cases=(
"clean_tree_passes|0|every include follows|:"
"upward_include_fails_with_file_and_line|1|src/lib/util.c:2: includes auth/ (src/lib/README.md may include: nothing)|echo '#include \"auth/dkim.h\"' >>src/lib/util.c"
"sibling_not_listed_fails|1|src/auth/dkim.c:3: includes engine/|: >src/engine/engine.h; echo '#include \"engine/engine.h\"' >>src/auth/dkim.c"
"listed_exception_allows_the_edge|0|every include follows|echo '#include \"auth/dkim.h\"' >>src/lib/util.c; echo 'lib auth  the reason' >scripts/include-exceptions.txt"
"dead_exception_fails|1|\"lib engine\" no longer occurs|echo 'lib engine  stale' >scripts/include-exceptions.txt"
"folder_without_readme_fails|1|src/state/: no README.md|mkdir src/state; : >src/state/s.c"
"plugin_including_core_header_fails|1|plugins/p/p.c:4: a plugin includes \"lib/util.h\"|echo '#include \"lib/util.h\"' >>plugins/p/p.c"
"include_with_spaces_after_hash_is_seen|1|src/lib/util.c:2: includes auth/|echo '#  include \"auth/dkim.h\"' >>src/lib/util.c"
)
for c in "${cases[@]}"; do
    IFS='|' read -r name want pat setup <<<"$c"
    r=$(mk "$name")
    (cd "$r" && eval "$setup")
    got=$(bash "$CHECK" "$r" 2>&1); rc=$?
    if [ "$rc" = "$want" ] && grep -qF -- "$pat" <<<"$got"; then echo "ok $name"
    else echo "FAIL $name: rc $rc (want $want), output:"; echo "$got" | sed 's/^/    /'; fail=1; fi
done
exit $fail
