#!/bin/bash
# man_conf_every_setting.sh - ses-milter.conf(5) names every setting, and only those
#
# The settings come from the sources (man/conf-directives.py reads the directive
# tables, the plugins' setting lists and the lists parsed by hand); the page's
# come from its ".Ss GROUP" headings and ".It Ic NAME" items (".Ss GROUP, plugin P"
# for a plugin's settings).  Proves:
#   - the page and the sources name the same settings, group by group;
#   - a setting missing from the page is reported by group and name, and fails;
#   - a setting the page names but the sources lack is reported, and fails;
#   - a directive table that the list of tables does not map stops the check.
#
# usage: man_conf_every_setting.sh   (from make check: SM_SRCDIR)
set -u
SRC=${SM_SRCDIR:-.}
PAGE=$SRC/man/ses-milter.conf.5.in
T=$(mktemp -d /tmp/sm-mandrift.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
n=0

ok() { # ok RC NAME - one TAP line
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi
}

# page_settings PAGE - "GROUP NAME" for each item of the SETTINGS section; "." for groups
page_settings() {
    awk '
        /^\.Sh / { in_set = ($2 == "SETTINGS"); next }
        !in_set { next }
        /^\.Ss / {
            t = substr($0, 5); gsub(/"/, "", t)
            if (match(t, /^[a-z_.]+, plugin [a-z_]+$/)) {
                split(t, w, /, plugin /); group = w[1] "." w[2]
            } else {
                split(t, w, / /); group = w[1]
            }
            if (group !~ /\./) print ". " group
            next
        }
        /^\.It Ic [a-z_]+/ { print group " " $3 }
    ' "$1" | sort -u
}

# drift PAGE SRCDIR - the differences, one "missing from the page: ..." or "not a
# setting: ..." line each; fails when there is one
drift() {
    python3 "$2/man/conf-directives.py" "$2" > "$T/src.lst" || return 2
    page_settings "$1" > "$T/page.lst"
    comm -23 "$T/src.lst" "$T/page.lst" | sed 's/^/missing from ses-milter.conf(5): /'
    comm -13 "$T/src.lst" "$T/page.lst" | sed 's/^/not a setting of the sources: /'
    cmp -s "$T/src.lst" "$T/page.lst"
}

command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }

out=$(drift "$PAGE" "$SRC")
rc=$?
[ -n "$out" ] && echo "$out"
ok $rc "ses-milter.conf(5) names every setting of the sources and no other ($(wc -l < "$T/src.lst") settings)"

# a page without daemon.socket
awk '/^\.Ss daemon$/ { d = 1 } d && /^\.It Ic socket / { d = 0; next } { print }' "$PAGE" > "$T/less.5"
out=$(drift "$T/less.5" "$SRC")
rc=$?
ok $((rc == 0)) "a page without a setting fails the check"
echo "$out" | grep -qx "missing from ses-milter.conf(5): daemon socket"
ok $? "a setting missing from the page is named by group and name"

# a page with a setting that does not exist
sed '/^\.It Ic backlog /i .It Ic sockett No (string)\nA typo.' "$PAGE" > "$T/more.5"
out=$(drift "$T/more.5" "$SRC")
rc=$?
ok $((rc == 0)) "a page naming a setting the sources lack fails the check"
echo "$out" | grep -qx "not a setting of the sources: daemon sockett"
ok $? "a setting the sources lack is named by group and name"

# a directive table nobody mapped
mkdir -p "$T/src"
cp -r "$SRC/src" "$SRC/plugins" "$SRC/man" "$T/src/"
printf 'static const cfg_directive new_tab[] = {\n    {"knob", CFG_INT, 0, NULL, 1, 0, 9, NULL},\n    CFG_END,\n};\n' >> "$T/src/src/conf/scope.c"
out=$(python3 "$T/src/man/conf-directives.py" "$T/src" 2>&1)
rc=$?
ok $((rc == 0)) "an unmapped directive table stops the check"
echo "$out" | grep -q "src/conf/scope.c: directive table new_tab is not mapped"
ok $? "the unmapped table is named with its file"

echo "1..$n"
[ "$fails" -eq 0 ]
