#!/usr/bin/env python3
"""account_api_budget_shared.py PORT RATE - the SES endpoint's request times, checked:
at most RATE requests (every API, every instance) in any window of one second
(less 50 ms of scheduling slack). Prints the busiest window and the calls per minute."""
import json
import sys
import urllib.request

port, rate = sys.argv[1], int(sys.argv[2])
st = json.load(urllib.request.urlopen("http://127.0.0.1:%s/__stats" % port))
times = sorted(t for api, ts in st["times"].items() for t in ts)
worst, j = 0, 0
for i, t in enumerate(times):
    while times[j] < t - 0.95:
        j += 1
    worst = max(worst, i - j + 1)
span = (times[-1] - times[0]) if len(times) > 1 else 1.0
print("requests %d (%s) over %.1f s: %.1f per minute; busiest 0.95 s window %d" % (
    len(times), ", ".join("%s %d" % kv for kv in sorted(st["counts"].items())), span,
    len(times) * 60.0 / span, worst))
sys.exit(0 if worst <= rate and len(times) >= 15 else 1)
