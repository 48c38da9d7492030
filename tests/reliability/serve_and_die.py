"""`creditdesk serve`, SIGKILLing itself the Nth time a request passes one fault point.

Usage: python serve_and_die.py <point> <n> serve --port ...  (point "-" for no fault).
The kill -9 test starts the server through this to land kills at the instants that matter
(just after the commit, just before it) besides the ones the kernel picks.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

from creditdesk import faults
from creditdesk.cli import app

point, after = sys.argv[1], int(sys.argv[2])
passes = 0
lock = threading.Lock()


def die_at_point(name: str) -> None:
    global passes
    if name != point:
        return
    with lock:
        passes += 1
        if passes > after:
            os.kill(os.getpid(), signal.SIGKILL)


if point != "-":
    faults._hook = die_at_point  # for the whole process, not a block
app(sys.argv[3:], prog_name="creditdesk")
