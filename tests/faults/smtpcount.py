#!/usr/bin/env python3
"""smtpcount.py - a counted SMTP client for the fault suite: every message's outcome, as the client saw it

Sends --count messages to 127.0.0.1:--port over --conc parallel sessions of
--per-session messages each.  Message k has Message-ID <TAG.k@faults.test> and
Subject "TAG k", so that the relay capture and the milter's log can be matched
to it.  One line per message is written to --out (tab separated):

    k  outcome  stage  code  qid

outcome is one of
    accepted    250 after the end of DATA (qid = Postfix's "queued as" id)
    tempfailed  a 4xx reply at any stage: the message is still with the client
    refused     a 5xx reply at any stage
    dropped     the connection failed or timed out before the final reply
                (the client still has the message; Postfix may have queued it)
--progress FILE is rewritten with the number of finished messages every few
messages, so that a test can time its faults by progress, not by the clock.
Every wait is bounded by --timeout (per SMTP command).
"""
import argparse
import os
import smtplib
import socket
import sys
import threading
import time

LOCK = threading.Lock()
DONE = [0]


def classify(code):
    if 200 <= code < 400:
        return None
    return "tempfailed" if 400 <= code < 500 else "refused"


def message(tag, k, sender, rcpt, body_lines):
    body = "".join("line %d of message %d, fault suite %s\r\n" % (i, k, tag) for i in range(body_lines))
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: %s %d\r\nMessage-ID: <%s.%d@faults.test>\r\n"
            "Date: Thu, 03 Dec 2026 10:00:00 +0000\r\n\r\n%s" % (sender, rcpt, tag, k, tag, k, body))


def one(s, a, k, sender):
    """One transaction on an open session; returns (outcome, stage, code, qid)."""
    code, _ = s.docmd("MAIL FROM:<%s>" % sender)
    if classify(code):
        return classify(code), "mail", code, "-"
    code, _ = s.docmd("RCPT TO:<%s>" % a.rcpt)
    if classify(code):
        s.rset()
        return classify(code), "rcpt", code, "-"
    code, msg = s.data(message(a.tag, k, sender, a.rcpt, a.body_lines).encode())
    msg = msg.decode(errors="replace")
    if classify(code):
        return classify(code), "data", code, "-"
    qid = msg.rsplit(" ", 1)[-1] if "queued as" in msg else "-"
    return "accepted", "data", code, qid


def session(a, ks, results):
    """Send the messages ks over one SMTP session (a new one after any failure)."""
    i = 0
    while i < len(ks):
        s = None
        try:
            s = smtplib.SMTP(timeout=a.timeout)
            code, _ = s.connect("127.0.0.1", a.port)
            if classify(code):
                raise smtplib.SMTPResponseException(code, b"banner")
            code, _ = s.ehlo("client.faults.test")
            if classify(code):
                raise smtplib.SMTPResponseException(code, b"ehlo")
            while i < len(ks):
                k = ks[i]
                sender = a.senders[k % len(a.senders)]
                try:
                    r = one(s, a, k, sender)
                except smtplib.SMTPResponseException as e:  # DATA answered with other than 354
                    r = (classify(e.smtp_code) or "dropped", "data", e.smtp_code, "-")
                except (smtplib.SMTPServerDisconnected, OSError) as e:
                    r = ("dropped", "io", 0, "-")
                    results[k] = r + (type(e).__name__,)
                    i += 1
                    finish()
                    break
                results[k] = r + ("",)
                i += 1
                finish()
        except smtplib.SMTPResponseException as e:
            # the session failed before a transaction: this message gets that reply
            results[ks[i]] = (classify(e.smtp_code) or "dropped", "session", e.smtp_code, "-", "")
            i += 1
            finish()
        except (smtplib.SMTPServerDisconnected, OSError) as e:
            results[ks[i]] = ("dropped", "connect", 0, "-", type(e).__name__)
            i += 1
            finish()
            time.sleep(0.05)
        finally:
            if s is not None:
                try:
                    s.quit()
                except (smtplib.SMTPException, OSError):
                    s.close()
        if a.pause_ms:
            time.sleep(a.pause_ms / 1000.0)


def finish():
    with LOCK:
        DONE[0] += 1
        n = DONE[0]
    if ARGS.progress and (n % 5 == 0 or n == ARGS.count):
        tmp = ARGS.progress + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % n)
        os.rename(tmp, ARGS.progress)


def worker(a, jobs, results):
    while True:
        with LOCK:
            if not jobs:
                return
            ks = jobs.pop(0)
        session(a, ks, results)


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=10025)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--conc", type=int, default=4)
    ap.add_argument("--per-session", type=int, default=1)
    ap.add_argument("--tag", required=True)
    ap.add_argument("--from", dest="senders", action="append", required=True)
    ap.add_argument("--to", dest="rcpt", default="bob@example.org")
    ap.add_argument("--out", required=True)
    ap.add_argument("--progress")
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--pause-ms", type=int, default=0, help="pause after each session")
    ap.add_argument("--body-lines", type=int, default=20)
    a = ARGS = ap.parse_args()
    socket.setdefaulttimeout(a.timeout)
    jobs = [list(range(i, min(i + a.per_session, a.count))) for i in range(0, a.count, a.per_session)]
    results = {}
    ts = [threading.Thread(target=worker, args=(a, jobs, results)) for _ in range(a.conc)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    with open(a.out, "w") as f:
        for k in range(a.count):
            r = results.get(k, ("dropped", "none", 0, "-", "not sent"))
            f.write("%d\t%s\t%s\t%s\t%s\t%s\n" % ((k,) + r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
