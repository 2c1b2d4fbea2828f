#!/usr/bin/env python3
"""abort_client.py - one row of the Postfix abort table (tests/e2e/abort_table.sh)

An SMTP client that walks a transaction to a given step and ends it there,
then (optionally) sends the next message, as an ordinary client would:

  abort_client.py row PORT STOP END FROM MARKER [--xclient "ADDR=.. LOGIN=.."] [--next FROM]

STOP: greeting (TCP connected, nothing read), connect (greeting read; after
XCLIENT's new greeting), helo, mail, rcpt1, rcpt2, data (354 seen), header
(one header line sent), body (headers and half the body sent), eom (the
final dot accepted), refused (MAIL accepted, the only RCPT refused by
Postfix).  END: quit, rset (then the next message on the same connection),
drop (the connection reset: RST, nothing more said), mail (refused only: a
second MAIL, which Postfix refuses as nested; the first transaction goes on
to end of message).  --next FROM: afterwards a whole message from FROM (on
the same connection after rset, else on a new one).  Prints one line per
queued message ("queued MARKER QID"); exits 1 with a reason when a reply
was not the expected one.

  abort_client.py count AUDITFILE ADDRESS...  -> "ADDRESS N ABORTED COMPLETED SCOPES" each

counts the audit records whose env_from is ADDRESS (with or without <>).
"""
import json
import socket
import struct
import sys

TIMEOUT = 20


class Smtp:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.buf = b""

    def reply(self):
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                data = self.s.recv(4096)
                if not data:
                    raise RuntimeError("connection closed by the server after %r" % lines)
                self.buf += data
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line.decode("utf-8", "replace"))
            if len(line) < 4 or line[3:4] != b"-":
                return int(lines[-1][:3]), "\n".join(lines)

    def send(self, text):
        self.s.sendall(text.encode())

    def cmd(self, text, want):
        self.send(text + "\r\n")
        code, full = self.reply()
        if code != want:
            raise RuntimeError("%s: got %s, want %d" % (text, full, want))
        return full

    def drop(self):
        # a dropped connection: RST, no FIN handshake, unread data discarded
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.s.close()

    def close(self):
        self.s.close()


def start(port, xclient):
    c = Smtp(port)
    c.reply()
    if xclient:
        c.cmd("EHLO client.example.net", 250)
        c.cmd("XCLIENT " + xclient, 220)
    return c


def headers(sender, marker):
    return "From: <%s>\r\nSubject: abort table %s\r\n" % (sender, marker)


def queued(full, marker):
    qid = full.split("queued as ")[-1].strip() if "queued as" in full else "?"
    print("queued %s %s" % (marker, qid))


def whole(c, sender, marker):
    """a whole message on an open, greeted (EHLO) connection"""
    c.cmd("MAIL FROM:<%s>" % sender, 250)
    c.cmd("RCPT TO:<bob@example.org>", 250)
    c.cmd("DATA", 354)
    c.send(headers(sender, marker) + "X-Marker: %s\r\n\r\nbody of %s\r\n" % (marker, marker))
    queued(c.cmd(".", 250), marker)


STEPS = ["greeting", "connect", "helo", "mail", "rcpt1", "rcpt2", "data", "header", "body", "eom"]


def row(port, stop, end, sender, marker, xclient, nxt):
    if stop == "greeting":
        c = Smtp(port)  # connected; the greeting is never read
        c.drop()
    else:
        c = start(port, xclient)
        upto = STEPS.index("mail") if stop == "refused" else STEPS.index(stop)
        for step in STEPS[2:upto + 1]:
            if step == "helo":
                c.cmd("EHLO client.example.net", 250)
            elif step == "mail":
                c.cmd("MAIL FROM:<%s>" % sender, 250)
            elif step == "rcpt1":
                c.cmd("RCPT TO:<bob@example.org>", 250)
            elif step == "rcpt2":
                c.cmd("RCPT TO:<carol@example.org>", 250)
            elif step == "data":
                c.cmd("DATA", 354)
            elif step == "header":
                c.send("From: <%s>\r\n" % sender)
            elif step == "body":
                c.send("Subject: abort table %s\r\nX-Marker: %s\r\n\r\nfirst half\r\n" % (marker, marker))
            elif step == "eom":
                c.send("second half\r\n")
                queued(c.cmd(".", 250), marker)
        if stop == "refused":
            c.send("RCPT TO:<refused@example.org>\r\n")
            code, full = c.reply()
            if code < 500:
                raise RuntimeError("the refused RCPT got %s" % full)
        if end == "quit":
            c.cmd("QUIT", 221)
            c.close()
        elif end == "rset":
            c.cmd("RSET", 250)
            if nxt:
                whole(c, nxt, marker + "-next")
                nxt = None
            c.cmd("QUIT", 221)
            c.close()
        elif end == "mail":
            c.cmd("MAIL FROM:<%s>" % (nxt or sender), 503)  # nested MAIL: refused by Postfix
            c.cmd("RCPT TO:<bob@example.org>", 250)
            c.cmd("DATA", 354)
            c.send(headers(sender, marker) + "X-Marker: %s\r\n\r\nbody\r\n" % marker)
            queued(c.cmd(".", 250), marker)
            c.cmd("QUIT", 221)
            c.close()
        else:
            c.drop()
    if nxt:
        c = start(port, xclient)
        c.cmd("EHLO client.example.net", 250)
        whole(c, nxt, marker + "-next")
        c.cmd("QUIT", 221)
        c.close()


def count(path, addresses):
    """per address: records, aborted ones, completed ones, scopes"""
    tally = {a: [0, 0, 0, set()] for a in addresses}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                t = tally.get((r.get("env_from") or "").strip("<>"))
                if t is None:
                    continue
                t[0] += 1
                t[1] += r.get("action") == "aborted" and r.get("outcome") == "aborted"
                t[2] += r.get("outcome") == "completed"
                t[3].add((r.get("scope") or {}).get("reason") or "-")
    except FileNotFoundError:
        pass
    for a in addresses:
        n, aborted, completed, scopes = tally[a]
        print(a, n, aborted, completed, ",".join(sorted(scopes)) or "-")


def main(argv):
    if argv[1] == "count":
        count(argv[2], argv[3:])
        return 0
    port, stop, end, sender, marker = int(argv[2]), argv[3], argv[4], argv[5], argv[6]
    opts = dict(zip(argv[7::2], argv[8::2]))
    try:
        row(port, stop, end, sender, marker, opts.get("--xclient"), opts.get("--next"))
    except (RuntimeError, OSError) as e:
        print("error: %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
