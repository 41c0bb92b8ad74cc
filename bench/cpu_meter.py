"""CPU seconds used by a process and all its descendants over a phase of the benchmark (Linux /proc).

Wall-clock docs/s on a shared 2-core machine moves with other people's load; CPU seconds move much less,
so the benchmark reports docs per CPU-second beside docs per wall-second. A background thread samples
``/proc/*/stat`` (utime + stime of each process in the tree) every ``interval`` seconds and keeps the
last value seen per process; the total is the sum over every process seen, minus what each already had
when the phase started. A process's last moments before it exits (at most ``interval``) and processes
that live shorter than ``interval`` are missed, so the figure is a slight underestimate. Off Linux (no
/proc) it reports None.
"""

from __future__ import annotations

import os
import threading
from typing import Dict, Optional, Tuple

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

# (pid, start time) identifies a process even if its pid is reused.
Key = Tuple[int, int]


def _scan() -> Dict[int, Tuple[int, int, int]]:
    """pid -> (ppid, start time, utime + stime in ticks) for every process on the machine."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                raw = handle.read()
        except OSError:
            continue
        fields = raw[raw.rfind(b")") + 2:].split()
        try:
            out[int(name)] = (int(fields[1]), int(fields[19]), int(fields[11]) + int(fields[12]))
        except (IndexError, ValueError):
            continue
    return out


class TreeCpuMeter:
    """``with TreeCpuMeter() as meter: ...`` then ``meter.cpu_s`` (None where /proc is missing)."""

    def __init__(self, root_pid: Optional[int] = None, interval: float = 0.25) -> None:
        self.root_pid = root_pid or os.getpid()
        self.interval = interval
        self.available = os.path.isdir("/proc") and os.path.exists(f"/proc/{self.root_pid}/stat")
        self._baseline: Dict[Key, int] = {}
        self._last: Dict[Key, int] = {}
        self._tree_pids = {self.root_pid}
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.cpu_s: Optional[float] = None
        self.processes_seen = 0

    def _sample(self) -> Dict[Key, int]:
        procs = _scan()
        children: Dict[int, list] = {}
        for pid, (ppid, _, _) in procs.items():
            children.setdefault(ppid, []).append(pid)
        found: Dict[Key, int] = {}
        # Start from the root and from descendants seen earlier whose parent has exited (orphans are
        # re-parented to init, but they are still this phase's work).
        stack = [pid for pid in self._tree_pids if pid in procs]
        seen = set()
        while stack:
            pid = stack.pop()
            if pid in seen:
                continue
            seen.add(pid)
            _, start, cpu = procs[pid]
            found[(pid, start)] = cpu
            stack.extend(children.get(pid, ()))
        self._tree_pids = seen or self._tree_pids
        return found

    def _record(self, found: Dict[Key, int]) -> None:
        for key, cpu in found.items():
            if cpu >= self._last.get(key, 0):
                self._last[key] = cpu

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._record(self._sample())
            except Exception:  # never let the meter break a benchmark
                pass

    def __enter__(self) -> "TreeCpuMeter":
        if self.available:
            self._baseline = self._sample()
            self._last = dict(self._baseline)
            self._thread = threading.Thread(target=self._loop, name="cpu-meter", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if not self.available or self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._record(self._sample())
        ticks = sum(cpu - self._baseline.get(key, 0) for key, cpu in self._last.items())
        self.cpu_s = ticks / _TICKS
        self.processes_seen = len(self._last)
