"""One writer per output folder: a training run's directory, or a pipeline's output.

The writer holds an exclusive ``flock`` on ``<folder>/.run.lock`` from before it reads what the folder holds
until it exits (rank 0 of a training run; the driver of a pipeline job). The kernel releases the lock when the
process dies, even by SIGKILL, so a crashed run never leaves a stale lock behind. A second run pointed at the
same folder while the first still writes there (a forgotten job, two submissions of one command, workers that
outlived their launcher) stops with one message naming the folder and the holder, instead of two runs
interleaving chunks, stages or checkpoints. The file stays (removing it would let a waiting process lock a
file nobody else sees); :func:`common.atomic_io.check_plan` never counts it as content.
"""

from __future__ import annotations

import fcntl
import os
import socket
import sys
import time
from typing import IO, Optional

LOCK_NAME = ".run.lock"


class RunDirectoryBusy(RuntimeError):
    pass


def acquire_run_lock(run_dir: str, wait_s: float = 10.0, holder: str = "training run",
                     advice: str = "stop that run or choose another output_dir") -> IO[str]:
    """The open, locked file (keep it open for the run's lifetime). Waits up to ``wait_s`` seconds,
    long enough for the processes of a run that was just killed to finish dying. ``holder`` says what kind
    of run holds it (in the lock file and the message), ``advice`` what the refused user can do."""
    os.makedirs(run_dir, exist_ok=True)
    path = os.path.join(run_dir, LOCK_NAME)
    handle = open(path, "a+", encoding="utf-8")
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                current = _holder(handle)
                handle.close()
                raise RunDirectoryBusy(f"{run_dir} is in use by another {holder} ({current}); {advice}") from None
            time.sleep(0.2)
    handle.seek(0)
    handle.truncate()
    command = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"
    handle.write(f"pid {os.getpid()} on {socket.gethostname()}, {command}, since "
                 f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n")
    handle.flush()
    return handle


def _holder(handle: IO[str]) -> str:
    handle.seek(0)
    text: Optional[str] = handle.read().strip()
    return text or "holder unknown"


__all__ = ["acquire_run_lock", "RunDirectoryBusy", "LOCK_NAME"]
