"""One writer per run directory.

Rank 0 of a training run holds an exclusive ``flock`` on ``<run_dir>/.run.lock`` from before it reads
the directory's checkpoints until it exits. The kernel releases the lock when the process dies, even
by SIGKILL, so a crashed run never leaves a stale lock behind. A second run pointed at the same
directory while the first still writes there (a forgotten job, or workers that outlived their launcher)
stops with one message naming the directory and the holder, instead of two runs interleaving
checkpoints or waiting on each other's collectives.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from typing import IO, Optional

LOCK_NAME = ".run.lock"


class RunDirectoryBusy(RuntimeError):
    pass


def acquire_run_lock(run_dir: str, wait_s: float = 10.0) -> IO[str]:
    """The open, locked file (keep it open for the run's lifetime). Waits up to ``wait_s`` seconds,
    long enough for the processes of a run that was just killed to finish dying."""
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
                holder = _holder(handle)
                handle.close()
                raise RunDirectoryBusy(f"{run_dir} is in use by another training run ({holder}); stop that run "
                                       "or choose another output_dir") from None
            time.sleep(0.2)
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
    handle.flush()
    return handle


def _holder(handle: IO[str]) -> str:
    handle.seek(0)
    text: Optional[str] = handle.read().strip()
    return text or "holder unknown"


__all__ = ["acquire_run_lock", "RunDirectoryBusy", "LOCK_NAME"]
