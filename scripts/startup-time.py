#!/usr/bin/env python3
"""Measures exec-to-first-served-request of `mint serve` on a home (10 runs, median).

Usage: scripts/startup-time.py target/release/mint .      (sends GET /echo/ping to 127.0.0.1:12280, offset 4000)
"""
import subprocess, time, socket, sys, statistics
mint = sys.argv[1]; home = sys.argv[2]
res = []
for i in range(10):
    t0 = time.monotonic()
    p = subprocess.Popen([mint, "serve", "--home", home, "--offset", "4000"], stderr=subprocess.DEVNULL)
    while True:
        try:
            s = socket.create_connection(("127.0.0.1", 12280), timeout=1)
            s.sendall(b"GET /echo/ping HTTP/1.1\r\nHost: x\r\n\r\n")
            if s.recv(100).startswith(b"HTTP/1.1 200"):
                break
        except OSError:
            time.sleep(0.001)
    res.append((time.monotonic() - t0) * 1000)
    p.terminate(); p.wait()
print("first response ms: median %.1f min %.1f max %.1f" % (statistics.median(res), min(res), max(res)))
