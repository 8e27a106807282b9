#!/usr/bin/env python3
"""conn_flood.py: open many connections to a server and hold them, to
measure what they cost it (tests/integration/test_server_limits.sh).

usage: conn_flood.py HOST PORT N MODE [HOLD_S]
MODE: partial  send the first 3 bytes of a TLS record header and stop
      tls      complete a TLS handshake without a client certificate (a
               refused client: the server keeps the connection to tell it),
               send the HTTP/2 client preface and an empty SETTINGS frame
Prints "OPEN n" once n connections are open (some may be refused or closed
by the server: n counts those open at that moment), then holds them for
HOLD_S seconds (default: until stdin closes) and prints "STILL n", how many
the server had not closed by then.
"""
import socket
import ssl
import sys
import time


def main():
    host, port, n, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    hold = float(sys.argv[5]) if len(sys.argv) > 5 else None
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2"])
    socks = []
    for _ in range(n):
        try:
            s = socket.create_connection((host, port), timeout=10)
            if mode == "partial":
                s.sendall(b"\x16\x03\x01")
            else:
                s = ctx.wrap_socket(s, server_hostname="localhost")
                s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
            s.setblocking(False)
            socks.append(s)
        except (OSError, ssl.SSLError):
            pass
    print("OPEN %d" % len(socks), flush=True)
    if hold is None:
        sys.stdin.read()
    else:
        time.sleep(hold)
    still = 0
    for s in socks:
        try:
            while True:
                d = s.recv(65536)
                if d == b"":
                    break  # closed by the server
        except (BlockingIOError, ssl.SSLWantReadError):
            still += 1  # nothing more to read: still open
        except (ConnectionError, OSError, ssl.SSLError):
            pass
    print("STILL %d" % still, flush=True)


if __name__ == "__main__":
    main()
