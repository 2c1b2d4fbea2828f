#!/usr/bin/env python3
# conf-directives.py - every configuration setting, read from the C sources
#
# usage: conf-directives.py SRCDIR        prints "GROUP NAME" lines, sorted
#
# The settings live in directive tables (cfg_directive arrays, src/lib/cfg.h), in
# the SES plugin's sesconf_directive table, in the "known" list of the file
# plugin, in the "extra" lists of sub-groups a table's owner parses itself, in
# the top-level group list (conf.c + services.c's services_parts) and in the few lists that
# are walked by hand (identity.sources, identity.overrides).  Each table is
# mapped to the group it fills below (TABLES); a table that is not mapped is an
# error, so that a new table cannot go unnoticed by the manual's drift check
# (tests/build/man_conf_every_setting.sh).  Group "." lists the top-level groups.
import os
import re
import sys

# (file, array name) -> group in ses-milter.conf(5)
TABLES = {
    ("src/conf/conf.c", "conf_daemon_tab"): "daemon",
    ("src/conf/conf.c", "conf_log_tab"): "log",
    ("src/conf/scope.c", "scope_tab"): "scope",
    ("src/engine/gate.c", "gate_table"): "identity",
    ("src/engine/gate.c", "gate_cache_table"): "identity.cache",
    ("src/auth/align_conf.c", "align_conf_tab"): "alignment",
    ("src/auth/align_conf.c", "align_conf_signer_tab"): "alignment.downstream_signer",
    ("src/auth/align_conf.c", "align_conf_override_tab"): "alignment.overrides",
    ("src/auth/align_conf.c", "align_conf_dns_tab"): "alignment.dns",
    ("src/auth/align_conf.c", "align_conf_dmarc_tab"): "alignment.dmarc",
    ("src/auth/sdkim.c", "sdkim_cfg_directives"): "dkim",
    ("src/engine/services.c", "services_spf_tab"): "spf",
    ("src/unsub/unsub_conf.c", "unsub_conf_top_tab"): "unsubscribe",
    ("src/unsub/unsub_conf.c", "unsub_conf_rule_tab"): "unsubscribe.rules",
    ("src/metrics/metrics.c", "metrics_conf_tab"): "metrics",
    ("src/audit/audit.c", "audit_directives"): "audit",
    ("src/state/state_conf.c", "state_conf_tab"): "state",
    ("plugins/ses/sesconf.c", "sesconf_table"): "identity.sources.ses",
    ("src/engine/sesrules.c", "sesrules_top_tab"): "ses",
    ("src/engine/sesrules.c", "sesrules_supp_tab"): "ses.suppression",
    ("src/engine/sesheaders.c", "sesheaders_rule_tab"): "ses.rules",
}
# lists of names allowed in a group and parsed by the table's owner: (file, array) -> group
EXTRAS = {
    ("src/engine/gate.c", "extra"): "identity",
    ("src/auth/align_conf.c", "align_conf_extra"): "alignment",
    ("src/unsub/unsub_conf.c", "unsub_conf_extra"): "unsubscribe",
    ("plugins/file/file.c", "known"): "identity.sources.file",
    ("src/engine/sesrules.c", "sesrules_top_extra"): "ses",
}
# settings read by hand: (file, function) -> group; the names are the string
# arguments of config_setting_lookup_*(e, "NAME", ...) and strcmp(s, "NAME")
BY_HAND = {
    ("src/engine/gate.c", "gate_parse_sources"): "identity.sources",
    ("src/engine/gate.c", "gate_parse_overrides"): "identity.overrides",
}

TABLE_RE = re.compile(r"^(?:static\s+)?const\s+(cfg_directive|sesconf_directive)\s+(\w+)\[\]\s*=\s*\{")
LIST_RE = re.compile(r"^\s*(?:static\s+)?const\s+char\s*\*const\s+(\w+)\[\]\s*=\s*\{(.*?)\};", re.S | re.M)
ENTRY_RE = re.compile(r'\{\s*"(\w+)"\s*,\s*(?:CFG|SESCONF)_[A-Z]+')
FUNC_RE = re.compile(r"^(\w+)\(", re.M)


def die(msg):
    sys.stderr.write("conf-directives.py: %s\n" % msg)
    sys.exit(2)


def tables(src, rel):
    """(array name, [setting names]) of each directive table in one file"""
    out, cur, names = [], None, []
    with open(os.path.join(src, rel)) as f:
        for line in f:
            m = TABLE_RE.match(line)
            if m:
                cur, names = m.group(2), []
                continue
            if cur is None:
                continue
            names += ENTRY_RE.findall(line)
            if line.startswith("};"):
                out.append((cur, names))
                cur = None
    return out


def main():
    if len(sys.argv) != 2:
        die("usage: conf-directives.py SRCDIR")
    src = sys.argv[1]
    found = set()
    files = []
    for top in ("src", "plugins"):
        for dirpath, _, fnames in os.walk(os.path.join(src, top)):
            files += [os.path.relpath(os.path.join(dirpath, n), src) for n in fnames if n.endswith(".c")]
    seen_tables = set()
    for rel in sorted(files):
        for name, names in tables(src, rel):
            key = (rel, name)
            if key not in TABLES:
                die("%s: directive table %s is not mapped to a group (add it to TABLES)" % key)
            seen_tables.add(key)
            found.update((TABLES[key], n) for n in names)
    for key in TABLES:
        if key not in seen_tables:
            die("%s: directive table %s not found (update TABLES)" % key)
    for (rel, name), group in EXTRAS.items():
        text = open(os.path.join(src, rel)).read()
        lists = dict(LIST_RE.findall(text))
        if name not in lists:
            die("%s: list %s not found (update EXTRAS)" % (rel, name))
        found.update((group, n) for n in re.findall(r'"(\w+)"', lists[name]))
    for (rel, func), group in BY_HAND.items():
        text = open(os.path.join(src, rel)).read()
        starts = [(m.start(), m.group(1)) for m in FUNC_RE.finditer(text)]
        body = None
        for i, (pos, fn) in enumerate(starts):
            if fn == func:
                body = text[pos:starts[i + 1][0] if i + 1 < len(starts) else len(text)]
        if body is None:
            die("%s: function %s not found (update BY_HAND)" % (rel, func))
        names = re.findall(r'config_setting_lookup_\w+\(e,\s*"(\w+)"', body)
        names += re.findall(r'strcmp\(s,\s*"(\w+)"\)', body)
        found.update((group, n) for n in names)
    # the top-level groups: conf.c's list and the services' registration table (its rows' names)
    conf = open(os.path.join(src, "src/conf/conf.c")).read()
    m = re.search(r"conf_groups\[\]\s*=\s*\{(.*?)\};", conf, re.S)
    svc = open(os.path.join(src, "src/engine/services.c")).read()
    e = re.search(r"services_parts\[\]\s*=\s*\{(.*?)\n\};", svc, re.S)
    if m is None or e is None:
        die("src/conf/conf.c conf_groups or src/engine/services.c services_parts not found")
    found.update((".", n) for n in re.findall(r'"(\w+)"', m.group(1)))
    found.update((".", n) for n in re.findall(r'\{\s*"(\w+)"', e.group(1)))
    # the SES plugin also accepts the host's own keys, documented under identity.sources
    for group, name in sorted(found):
        print(group, name)


main()
