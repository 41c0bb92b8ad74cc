"""Processes below a process id, read from /proc: torchrun starts each worker in its own session, so
killing a launcher's process group does not reach its workers; a test that means "the machine died"
kills the whole tree."""

import os
import signal
import time
from pathlib import Path
from typing import Iterator, List


def children(pid: int) -> Iterator[int]:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                yield int(entry.name)


def descendants(pid: int) -> List[int]:
    found, frontier = [], [pid]
    while frontier:
        below = [child for parent in frontier for child in children(parent)]
        found.extend(below)
        frontier = below
    return found


def alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_gone(pids: List[int], timeout: float) -> List[int]:
    """The pids still alive after ``timeout`` seconds (empty when all ended)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        remaining = [pid for pid in pids if alive(pid)]
        if not remaining:
            return []
        time.sleep(0.1)
    return [pid for pid in pids if alive(pid)]


def kill_tree(pid: int, sig: int = signal.SIGKILL) -> List[int]:
    """Sends ``sig`` to ``pid`` and every process below it at once; returns the pids it signalled."""
    pids = [pid, *descendants(pid)]
    for target in pids:
        try:
            os.kill(target, sig)
        except ProcessLookupError:
            pass
    return pids
