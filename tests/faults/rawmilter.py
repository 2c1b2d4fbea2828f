#!/usr/bin/env python3
"""rawmilter.py - a raw milter-protocol client that misbehaves, for the fault suite

  rawmilter.py cases --sock PATH [--rounds R] [--seed S]
      Sends each case of CASES (garbage, truncated, oversized, out-of-order and
      malformed packets) R times, one connection each, reads whatever comes back
      (bounded), closes.  After every case it checks that the milter still
      negotiates on a fresh connection.  Prints one line per case
      ("case NAME: rounds=R answered=A closed_by_milter=C healthy_after=H") and
      exits 1 when the milter stopped negotiating after a case.
  rawmilter.py idle --sock PATH --count N [--negotiated M] --wait SECS
      Opens N connections (M of them negotiate first, then all fall silent) and
      waits at most SECS for the milter to close them.  Prints
      "idle: opened=N closed=C open=O" and exits 0 when all were closed.

Packets are the milter protocol's: 4-byte big-endian length, command, data
(libmilter/mfdef.h).  Every socket operation has a timeout.
"""
import argparse
import os
import random
import select
import socket
import struct
import sys
import time

SMFI_VERSION = 6
ALL_ACTIONS = 0x1FF
ALL_PROTO = 0x1FFFFF


def pkt(cmd, data=b""):
    return struct.pack(">I", len(data) + 1) + cmd + data


def negotiate(version=SMFI_VERSION, actions=ALL_ACTIONS, proto=0):
    return pkt(b"O", struct.pack(">III", version, actions, proto))


def connect_pkt(host=b"client.faults.test", family=b"4", port=25, addr=b"192.0.2.99"):
    return pkt(b"C", host + b"\0" + family + struct.pack(">H", port) + addr + b"\0")


def mail(addr=b"<a@faults.example>"):
    return pkt(b"M", addr + b"\0")


def rcpt(addr=b"<bob@example.org>"):
    return pkt(b"R", addr + b"\0")


def hdr(name, value):
    return pkt(b"L", name + b"\0" + value + b"\0")


def macro(cmd, pairs):
    return pkt(b"D", cmd + b"".join(k + b"\0" + v + b"\0" for k, v in pairs))


GOOD = negotiate() + macro(b"C", [(b"j", b"mx.faults.test")]) + connect_pkt()


def rnd(seed, n):
    return random.Random(seed).randbytes(n)


# name -> bytes to send (a function of the round number, for varied garbage)
CASES = [
    ("garbage-before-negotiation", lambda r: rnd(r, 4096)),
    ("garbage-after-negotiation", lambda r: negotiate() + rnd(1000 + r, 4096)),
    ("garbage-mid-transaction", lambda r: GOOD + mail() + rcpt() + rnd(2000 + r, 2048)),
    ("length-cut-after-2-bytes", lambda r: b"\x00\x00"),
    ("packet-cut-after-10-of-100-bytes", lambda r: struct.pack(">I", 100) + b"O" + b"\0" * 9),
    ("header-cut-mid-transaction", lambda r: GOOD + mail() + rcpt() + struct.pack(">I", 500) + b"L" + b"From\0a"),
    ("zero-length-packet", lambda r: struct.pack(">I", 0)),
    ("oversized-length-2GiB", lambda r: struct.pack(">I", 0x7FFFFFFF) + b"B" + b"x" * 1024),
    ("oversized-length-4GiB", lambda r: struct.pack(">I", 0xFFFFFFFF) + b"O" + b"x" * 1024),
    ("oversized-body-chunk-1MiB", lambda r: GOOD + mail() + rcpt() + hdr(b"From", b"a@faults.example")
     + pkt(b"N") + pkt(b"B", b"x" * (1 << 20))),
    ("oversized-header-256KiB", lambda r: GOOD + mail() + rcpt() + hdr(b"Subject", b"y" * (256 << 10))),
    ("unknown-command", lambda r: negotiate() + pkt(b"Z", b"what")),
    ("negotiate-version-0-no-actions", lambda r: negotiate(0, 0, 0)),
    ("negotiate-all-protocol-bits", lambda r: negotiate(proto=ALL_PROTO)),
    ("negotiate-short", lambda r: pkt(b"O", b"\0\0\0\6")),
    ("connect-without-nul", lambda r: negotiate() + pkt(b"C", b"hostname-without-terminator")),
    ("connect-bad-family", lambda r: negotiate() + connect_pkt(family=b"Q")),
    ("connect-family-4-no-address", lambda r: negotiate() + pkt(b"C", b"h\x004")),
    ("mail-before-connect", lambda r: negotiate() + mail() + rcpt() + pkt(b"E")),
    ("eom-right-after-connect", lambda r: GOOD + pkt(b"E")),
    ("body-before-mail", lambda r: GOOD + pkt(b"B", b"body") + pkt(b"E")),
    ("header-before-mail", lambda r: GOOD + hdr(b"From", b"a@faults.example") + pkt(b"N") + pkt(b"E")),
    ("rcpt-before-mail", lambda r: GOOD + rcpt() + pkt(b"E")),
    ("mail-empty-args", lambda r: GOOD + pkt(b"M") + pkt(b"R") + pkt(b"E")),
    ("mail-without-nul", lambda r: GOOD + pkt(b"M", b"<a@faults.example>") + rcpt() + pkt(b"E")),
    ("header-without-value", lambda r: GOOD + mail() + rcpt() + pkt(b"L", b"From") + pkt(b"N") + pkt(b"E")),
    ("macros-garbage", lambda r: negotiate() + pkt(b"D", rnd(3000 + r, 512)) + connect_pkt()),
    ("abort-storm", lambda r: GOOD + pkt(b"A") * 50 + mail() + pkt(b"A") * 50),
    ("double-eom", lambda r: GOOD + mail() + rcpt() + hdr(b"From", b"a@faults.example") + pkt(b"N")
     + pkt(b"E") + pkt(b"E")),
    ("quit-new-connection-reuse", lambda r: GOOD + pkt(b"K") + mail() + rcpt() + pkt(b"E")),
]


def open_sock(path, timeout):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def drain(s, secs):
    """Read replies until EOF or SECS of silence; returns (bytes read, closed by peer)."""
    got, end = 0, time.monotonic() + secs
    while time.monotonic() < end:
        r, _, _ = select.select([s], [], [], max(0.0, end - time.monotonic()))
        if not r:
            return got, False
        try:
            d = s.recv(65536)
        except OSError:
            return got, True
        if not d:
            return got, True
        got += len(d)
        end = time.monotonic() + 0.3  # more may follow shortly
    return got, False


def healthy(path):
    """A fresh connection negotiates: the milter answers SMFIC_OPTNEG with 'O'."""
    try:
        s = open_sock(path, 3)
        s.sendall(negotiate())
        h = b""
        while len(h) < 5:
            d = s.recv(5 - len(h))
            if not d:
                return False
            h += d
        s.close()
        return h[4:5] == b"O"
    except OSError:
        return False


def cases(a):
    bad = 0
    for name, make in CASES:
        answered = closed = 0
        for r in range(a.rounds):
            try:
                s = open_sock(a.sock, 3)
            except OSError as e:
                print("case %s: round %d: cannot connect: %s" % (name, r, e))
                bad += 1
                break
            try:
                s.sendall(make(a.seed * 100000 + r))
                got, eof = drain(s, 1.0)
            except OSError:
                got, eof = 0, True
            answered += got > 0
            closed += eof
            s.close()
        ok = healthy(a.sock)
        bad += not ok
        print("case %s: rounds=%d answered=%d closed_by_milter=%d healthy_after=%s"
              % (name, a.rounds, answered, closed, "yes" if ok else "NO"))
        sys.stdout.flush()
        if not ok:
            break
    return 1 if bad else 0


def idle(a):
    socks = []
    for i in range(a.count):
        try:
            s = open_sock(a.sock, 5)
            if i < a.negotiated:
                s.sendall(negotiate())
                s.recv(4096)
            socks.append(s)
        except OSError as e:
            print("idle: connection %d failed: %s" % (i, e))
            break
    opened = len(socks)
    print("idle: opened=%d (negotiated %d); waiting up to %d s for the milter to close them"
          % (opened, min(a.negotiated, opened), a.wait))
    sys.stdout.flush()
    if a.ready:
        with open(a.ready, "w") as f:
            f.write("%d\n" % opened)
    live, end = list(socks), time.monotonic() + a.wait
    while live and time.monotonic() < end:
        r, _, _ = select.select(live, [], [], min(1.0, max(0.0, end - time.monotonic())))
        for s in r:
            try:
                d = s.recv(4096)
            except OSError:
                d = b""
            if not d:
                live.remove(s)
                s.close()
    print("idle: opened=%d closed=%d open=%d" % (opened, opened - len(live), len(live)))
    for s in live:
        s.close()
    return 0 if opened == a.count and not live else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("cases", "idle"))
    ap.add_argument("--sock", required=True)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--negotiated", type=int, default=0)
    ap.add_argument("--wait", type=int, default=30)
    ap.add_argument("--ready", help="file written once all idle connections are open")
    a = ap.parse_args()
    return cases(a) if a.mode == "cases" else idle(a)


if __name__ == "__main__":
    sys.exit(main())
