"""A service whose child forks a grandchild that leaves the process group (setsid).

Each process appends "<pid> <start ticks>" to the file named by argv[1], so a test
can check afterwards that none of them is left.
"""

import os
import sys
import time


def record() -> None:
    stat = open(f"/proc/{os.getpid()}/stat").read()
    ticks = stat[stat.rindex(")") + 2 :].split()[19]
    with open(sys.argv[1], "a") as file:
        file.write(f"{os.getpid()} {ticks}\n")


record()
if os.fork() == 0:
    os.setsid()
    record()
    print("grandchild in a session of its own", flush=True)
    time.sleep(600)
    os._exit(0)
print("child waiting", flush=True)
time.sleep(600)
