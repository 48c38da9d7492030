"""A worker executing a partner's queued suggestion run, SIGKILLing itself right after its
Nth batch commits (batches of ``batch`` customers).

Usage: python refresh_and_die.py <database url> <batch> <n>
"""

from __future__ import annotations

import os
import signal
import sys

from creditdesk import faults
from creditdesk.db.engine import Database
from creditdesk.services.suggesting import refresh_runs, suggestions

url, batch, after = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
suggestions.BATCH = batch
passes = 0


def die_after_batches(name: str) -> None:
    global passes
    if name == "suggestion_run.batch_committed":
        passes += 1
        if passes >= after:
            os.kill(os.getpid(), signal.SIGKILL)


faults._hook = die_after_batches  # for the whole process, not a block
refresh_runs.run_pending(Database(url))
sys.exit("the run finished: the kill never came")
