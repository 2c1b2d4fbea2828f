#!/usr/bin/env python3
"""make-corpus.py - a realistic corpus of outgoing mail for the milter benchmarks

Usage: make-corpus.py OUTDIR [--seed N] [--domain example.com]

Writes one file per message (milter_load's format: "#env" envelope lines,
then the RFC 5322 message, LF line ends).  The mix, by count:
  plain text (1-3 KiB)              16    HTML + text alternative (4-12 KiB) 12
  attachment 8 KiB (base64 PDF-ish)  6    attachment 64 KiB                   4
  attachment 512 KiB                 2    newsletter (unsubscribe rule)       6
half of each kind named "sign-*.eml": scripts/bench.sh passes those through
opendkim in sign mode (milter_load -o) so that they carry a real
DKIM-Signature the bench zone's key verifies.  Recipients: 1 (70%),
3 (20%) or 10 (10%).  All senders are under DOMAIN (the bench zone), the
envelope sender is bounce@DOMAIN.  Deterministic for a given seed.
Python 3 standard library only.
"""
import argparse
import os
import random
import sys
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate

WORDS = ("account invoice order shipping update meeting report quarterly schedule team "
         "project customer service thanks please review attached details regards summary "
         "delivery payment confirmation welcome newsletter offer product release notes").split()

KINDS = [  # (name, count, body builder key)
    ("plain", 16), ("html", 12), ("att8k", 6), ("att64k", 4), ("att512k", 2), ("news", 6),
]


def words(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n))


def paragraphs(rng, size):
    out, total = [], 0
    while total < size:
        line = words(rng, rng.randint(8, 14)).capitalize() + "."
        out.append(line)
        total += len(line) + 1
    # wrap into 72-column lines
    text, col = [], 0
    for w in " ".join(out).split(" "):
        if col + len(w) + 1 > 72:
            text.append("\n")
            col = 0
        elif col:
            text.append(" ")
            col += 1
        text.append(w)
        col += len(w)
    return "".join(text) + "\n"


def recipients(rng):
    r = rng.random()
    n = 1 if r < 0.7 else 3 if r < 0.9 else 10
    return ["user%d@customers.example.org" % rng.randint(1, 99999) for _ in range(n)]


def build(kind, i, rng, domain):
    sender = {"news": "list@news." + domain}.get(kind, "%s@%s" % (
        rng.choice(["alice", "billing", "noreply", "support", "orders"]), domain))
    if kind == "plain":
        msg = MIMEText(paragraphs(rng, rng.randint(1024, 3072)), "plain", "us-ascii")
    elif kind in ("html", "news"):
        msg = MIMEMultipart("alternative", boundary="=_alt_%d_%d" % (i, rng.getrandbits(32)))
        text = paragraphs(rng, rng.randint(1500, 4000))
        msg.attach(MIMEText(text, "plain", "us-ascii"))
        html = "<html><body>%s</body></html>\n" % "".join(
            "<p>%s</p>\n" % p for p in text.split("\n") if p)
        msg.attach(MIMEText(html, "html", "us-ascii"))
    else:
        size = {"att8k": 8192, "att64k": 65536, "att512k": 524288}[kind]
        msg = MIMEMultipart("mixed", boundary="=_mix_%d_%d" % (i, rng.getrandbits(32)))
        msg.attach(MIMEText(paragraphs(rng, 800), "plain", "us-ascii"))
        part = MIMEApplication(rng.randbytes(size), "pdf")
        part.add_header("Content-Disposition", "attachment", filename="document-%d.pdf" % i)
        msg.attach(part)
    rcpts = recipients(rng)
    msg["From"] = "%s <%s>" % (words(rng, 2).title(), sender)
    msg["To"] = ", ".join(rcpts) if len(rcpts) < 4 else "undisclosed-recipients:;"
    msg["Subject"] = words(rng, rng.randint(3, 8)).capitalize()
    msg["Date"] = formatdate(1790000000 + i * 37, localtime=False)
    msg["Message-ID"] = "<bench.%d.%d@%s>" % (i, rng.getrandbits(40), domain)
    if kind == "news":
        msg["Precedence"] = "bulk"
    env = ["#env from bounce@%s" % domain] + ["#env rcpt %s" % r for r in rcpts]
    return "\n".join(env) + "\n" + msg.as_string() + ("" if msg.as_string().endswith("\n") else "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--domain", default="example.com")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(a.outdir, exist_ok=True)
    i = 0
    for kind, count in KINDS:
        for k in range(count):
            i += 1
            name = "%s-%s-%02d.eml" % ("sign" if k % 2 else "unsigned", kind, k)
            with open(os.path.join(a.outdir, name), "w", encoding="utf-8") as f:
                f.write(build(kind, i, rng, a.domain))
    print("%d messages in %s" % (i, a.outdir), file=sys.stderr)


if __name__ == "__main__":
    main()
