#!/usr/bin/env python3
"""account_api_budget_shared.py PORT RATE [OP=MIN ...] - the SES endpoint's request times,
checked: at most RATE requests (every API, every instance) in any window of one second
(less 50 ms of scheduling slack), and at least MIN calls of each named operation (so every
kind of call really competed).  Prints, per operation and in all, the calls, the calls per
minute over the whole run and the busiest window."""
import json
import sys
import urllib.request


def busiest(times):
    worst, j = 0, 0
    for i, t in enumerate(times):
        while times[j] < t - 0.95:
            j += 1
        worst = max(worst, i - j + 1)
    return worst


port, rate = sys.argv[1], int(sys.argv[2])
want = dict((kv.split("=")[0], int(kv.split("=")[1])) for kv in sys.argv[3:])
st = json.load(urllib.request.urlopen("http://127.0.0.1:%s/__stats" % port))
# "API:account:region" entries are a second record of a call already counted under "API"
per_op = dict((api, sorted(ts)) for api, ts in st["times"].items() if ":" not in api)
times = sorted(t for ts in per_op.values() for t in ts)
span = max((times[-1] - times[0]) if len(times) > 1 else 1.0, 1.0)
worst = busiest(times)
for api in sorted(per_op):
    print("  %-28s %4d calls, %5.1f per minute, busiest 0.95 s window %d" % (
        api, len(per_op[api]), len(per_op[api]) * 60.0 / span, busiest(per_op[api])))
print("requests %d over %.1f s: %.1f per minute; busiest 0.95 s window %d (limit %d)" % (
    len(times), span, len(times) * 60.0 / span, worst, rate))
short = ["%s %d < %d" % (op, len(per_op.get(op, [])), n) for op, n in sorted(want.items())
         if len(per_op.get(op, [])) < n]
if short:
    print("too few calls: " + ", ".join(short))
sys.exit(0 if worst <= rate and len(times) >= 15 and not short else 1)
