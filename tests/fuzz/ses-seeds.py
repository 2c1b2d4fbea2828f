#!/usr/bin/env python3
"""ses-seeds.py - seeds for fuzz_ses_json from the SES test endpoint's fixtures

usage: ses-seeds.py OUTDIR FIXTURE.ses.json...

Writes what tests/ses/ses_endpoint.py answers for each fixture: every
identity as a GetEmailIdentity body, the GetAccount body, the
ListEmailIdentities pages (two identities a page, with NextToken), and
one input holding them all, NUL-separated (the target's input format).
"""
import json
import os
import sys


def pages(identities, size=2):
    names = sorted(identities)
    out = []
    for start in range(0, max(len(names), 1), size):
        items = [{"IdentityName": n, "IdentityType": identities[n].get("IdentityType"),
                  "SendingEnabled": bool(identities[n].get("VerifiedForSendingStatus")),
                  "VerificationStatus": identities[n].get("VerificationStatus")}
                 for n in names[start:start + size]]
        res = {"EmailIdentities": items}
        if start + size < len(names):
            res["NextToken"] = "tok/+= %d" % (start + size)
        out.append(json.dumps(res))
    return out


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    n = 0
    for path in sys.argv[2:]:
        with open(path, encoding="utf-8") as f:
            fix = json.load(f)
        base = os.path.basename(path).split(".")[0]
        ids = fix.get("identities", {})
        bodies = [json.dumps(v) for _, v in sorted(ids.items())]
        bodies.append(json.dumps(fix.get("account", {})))
        bodies += pages(ids)
        for b in bodies:
            n += 1
            with open(os.path.join(outdir, "%s-%02d" % (base, n)), "w", encoding="utf-8") as f:
                f.write(b)
        with open(os.path.join(outdir, "%s-all" % base), "w", encoding="utf-8") as f:
            f.write("\0".join(bodies))


if __name__ == "__main__":
    main()
