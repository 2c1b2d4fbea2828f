#!/usr/bin/env python3
"""tally.py - the fault suite's bookkeeping: what the client saw against what Postfix relayed or holds

Reads smtpcount.py's result file (one line per message), the relay capture
(smtp-sink -d files: the message with Postfix's Received header, "with ESMTP
id QID"), the Postfix queue (queue files are named by queue id) and the
ses-milter log (one summary line "QID: action=..." per message), optionally
the audit trail (one JSON record per message, "qid").  Prints one line

  COUNTS fault=F sent=N accepted=N relayed=N held=N refused=N tempfailed=N dropped=N
         restarts=N crashes=N unchecked=N missing=N unexpected=N audited=N

and, for scripts, the same values as shell assignments (FL_sent=N ...) on
stdout after a line "--".  Definitions (by queue id and Message-ID):
  relayed     messages of this run in the capture
  held        accepted messages still in the Postfix queue
  missing     accepted by Postfix (as the client saw it) but neither relayed nor held
  unexpected  relayed although the client did not see them accepted
  unchecked   relayed without a summary line in the milter's log (and, with
              --audit, without an audit record) for their queue id
"""
import argparse
import json
import os
import re
import sys

RECV_ID = re.compile(r"by mx\.testbed\.example \(Postfix\) with E?SMTP id ([0-9A-Za-z]+)")


def capture(dirname, tag):
    """Message number -> queue id, for this run's messages in the capture."""
    mid = re.compile(r"^Message-ID: <%s\.(\d+)@faults\.test>" % re.escape(tag), re.M | re.I)
    out = {}
    for name in os.listdir(dirname):
        try:
            with open(os.path.join(dirname, name), errors="replace") as f:
                text = f.read()
        except OSError:
            continue
        m = mid.search(text)
        if not m:
            continue
        r = RECV_ID.search(text)
        out.setdefault(int(m.group(1)), []).append(r.group(1) if r else "?")
    return out


def queue_ids(spool):
    ids = set()
    for sub in ("maildrop", "incoming", "active", "deferred", "hold", "corrupt"):
        for root, _, files in os.walk(os.path.join(spool, sub)):
            ids.update(files)
    return ids


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fault", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--tag", required=True)
    ap.add_argument("--capture", required=True)
    ap.add_argument("--spool", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--audit")
    ap.add_argument("--restarts", type=int, default=0)
    ap.add_argument("--crashes", type=int, default=0)
    a = ap.parse_args()

    res = {}
    with open(a.results) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            res[int(p[0])] = p
    c = {"sent": len(res)}
    for o in ("accepted", "tempfailed", "refused", "dropped"):
        c[o] = sum(1 for p in res.values() if p[1] == o)
    accepted = {k: p[4] for k, p in res.items() if p[1] == "accepted"}

    cap = capture(a.capture, a.tag)
    queue = queue_ids(a.spool)
    with open(a.log, errors="replace") as f:
        log = f.read()
    summarised = set(re.findall(r"\b([0-9A-F]{6,}): action=", log))
    audited = set()
    if a.audit and os.path.exists(a.audit):
        with open(a.audit, errors="replace") as f:
            for line in f:
                try:
                    q = json.loads(line).get("qid")
                except ValueError:
                    continue
                if q:
                    audited.add(q)

    relayed_q = {q for qs in cap.values() for q in qs}
    c["relayed"] = len(cap)
    c["duplicates"] = sum(len(qs) - 1 for qs in cap.values())
    c["held"] = sum(1 for k, q in accepted.items() if k not in cap and q in queue)
    c["missing"] = sum(1 for k, q in accepted.items() if k not in cap and q not in queue)
    c["unexpected"] = sum(1 for k in cap if k not in accepted)
    c["mismatched_qid"] = sum(1 for k, qs in cap.items() if k in accepted and accepted[k] not in qs)
    unchecked = [q for q in relayed_q if q not in summarised or (a.audit and q not in audited)]
    c["unchecked"] = len(unchecked)
    c["audited"] = len(relayed_q & audited)
    c["restarts"] = a.restarts
    c["crashes"] = a.crashes

    order = ("sent accepted relayed held refused tempfailed dropped restarts crashes unchecked "
             "missing unexpected duplicates mismatched_qid audited").split()
    print("COUNTS fault=%s %s" % (a.fault, " ".join("%s=%d" % (k, c[k]) for k in order)))
    for k, p in sorted(res.items()):
        if p[1] in ("refused", "dropped"):
            print("  message %d: %s at %s (%s) %s" % (k, p[1], p[2], p[3], p[5] if len(p) > 5 else ""))
            break
    for q in unchecked[:5]:
        print("  relayed unchecked: queue id %s" % q)
    print("--")
    for k in order:
        print("FL_%s=%d" % (k, c[k]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
