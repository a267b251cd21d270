#!/usr/bin/python3
# Adds N folder exclusions (default 5,000) one D-Bus call each and prints the time each 1,000
# took; run inside the sandbox: scripts/sandbox.sh -- bench/exclusions-bench.py [N]
# The daemon is in its default real_time mode with real-time protection on the sandbox's tmpfs,
# so each add goes through persistence, the exclusion set and real-time protection.
import sys
import time

import dbus

n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
bus = dbus.SystemBus()
ex = dbus.Interface(bus.get_object("com.microsoft.Mdatp1", "/com/microsoft/Mdatp1/Exclusions"),
                    "com.microsoft.Mdatp1.Exclusions")
t0 = t = time.time()
for i in range(n):
    ex.Add("folder", "/srv/data/dir%06d/" % i, "epp", timeout=120)
    if (i + 1) % 1000 == 0:
        now = time.time()
        print("%d: %.2f s for the last 1000" % (i + 1, now - t), flush=True)
        t = now
print("total %.2f s for %d adds" % (time.time() - t0, n))
