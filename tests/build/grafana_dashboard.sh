#!/bin/bash
# grafana_dashboard.sh - contrib/grafana/ses-milter.json is a dashboard that can work
#
# Proves: the file is valid JSON with a title, a uid and panels; each panel has a
# unique id and queries through the ${datasource} variable; every ses_milter_*
# metric a query names is one the daemon exports (src/metrics/metrics.c), so a renamed
# metric cannot leave the dashboard empty; no query groups by a label the daemon
# does not give the metric (source, plugin, scope, action, reason, ...).
: "${SM_SRCDIR:?}"
python3 - "$SM_SRCDIR/contrib/grafana/ses-milter.json" "$SM_SRCDIR/src/metrics/metrics.c" <<'EOF'
import json, re, sys
fails = 0
def check(name, ok):
    global fails
    print(("ok - " if ok else "not ok - ") + name)
    fails += not ok
try:
    d = json.load(open(sys.argv[1]))
    check("valid JSON", True)
except ValueError as e:
    check("valid JSON: %s" % e, False)
    sys.exit(1)
src = open(sys.argv[2]).read()
exported = set(re.findall(r'"(ses_milter_[a-z_]+)"', src)) | {"ses_milter_build_info", "process_start_time_seconds"}
labels = set(re.findall(r'METRICS_DIM\("([a-z_]+)"', src)) | {"source", "plugin", "le", "version", "job", "instance"}
check("title, uid and panels", bool(d.get("title")) and bool(d.get("uid")) and len(d.get("panels", [])) > 0)
ids = [p.get("id") for p in d["panels"]]
check("panel ids unique", len(ids) == len(set(ids)))
exprs = [t["expr"] for p in d["panels"] for t in p.get("targets", [])]
check("every panel has a query", all(p.get("targets") for p in d["panels"]))
check("queries use the ${datasource} variable",
      all(t.get("datasource", {}).get("uid") == "${datasource}" for p in d["panels"] for t in p["targets"]))
for e in exprs:
    for m in re.findall(r'\b(ses_milter_[a-z_]+|process_start_time_seconds)\b', e):
        base = re.sub(r'_(bucket|sum|count)$', '', m) if m not in exported else m
        check("metric %s is exported" % m, base in exported)
    for grp in re.findall(r'by \(([^)]*)\)', e):
        for l in grp.split(","):
            check("label %s exists" % l.strip(), l.strip() in labels)
sys.exit(1 if fails else 0)
EOF
