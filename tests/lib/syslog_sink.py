#!/usr/bin/env python3
"""syslog_sink.py - a syslog socket for the test bed: every datagram becomes one line

Usage: syslog_sink.py SOCKET LOGFILE

Binds a Unix datagram socket at SOCKET (the test bed's private /dev/log)
and appends each message, without its <PRI> prefix, to LOGFILE, flushed
at once so that a test can grep it while the daemons run.  Stopped by the
test bed's cleanup (SIGTERM).
"""
import os
import re
import signal
import socket
import sys


def main():
    path, logfile = sys.argv[1], sys.argv[2]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o666)
    with open(logfile, "a", encoding="utf-8", errors="replace") as out:
        while True:
            data = s.recv(65536).decode("utf-8", "replace").rstrip("\n\0")
            out.write(re.sub(r"^<\d+>", "", data) + "\n")
            out.flush()


if __name__ == "__main__":
    main()
