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


def _scan() -> Dict[int, Tuple[int, int, int, str]]:
    """pid -> (ppid, start time, utime + stime in ticks, command name) for every process on the machine."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                raw = handle.read()
        except OSError:
            continue
        close = raw.rfind(b")")
        fields = raw[close + 2:].split()
        comm = raw[raw.find(b"(") + 1:close].decode("utf-8", "replace")
        try:
            out[int(name)] = (int(fields[1]), int(fields[19]), int(fields[11]) + int(fields[12]), comm)
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
        self._names: Dict[Key, str] = {}
        self._tree_pids = {self.root_pid}
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.cpu_s: Optional[float] = None
        self.processes_seen = 0
        # CPU seconds per command name (ray::IDLE, raylet, gcs_server, python...), largest first.
        self.by_name: Dict[str, float] = {}

    def _sample(self) -> Dict[Key, int]:
        procs = _scan()
        children: Dict[int, list] = {}
        for pid, (ppid, _, _, _) in procs.items():
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
            _, start, cpu, comm = procs[pid]
            found[(pid, start)] = cpu
            self._names[(pid, start)] = comm
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
        by_name: Dict[str, float] = {}
        for key, cpu in self._last.items():
            used = (cpu - self._baseline.get(key, 0)) / _TICKS
            if used > 0:
                name = self._names.get(key, "?")
                by_name[name] = by_name.get(name, 0.0) + used
        self.by_name = dict(sorted(by_name.items(), key=lambda kv: -kv[1]))


def machine_cpu_ticks() -> Optional[Tuple[int, int, int]]:
    """(busy, idle, steal) ticks of the whole machine since boot, from /proc/stat; None off Linux."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = [int(x) for x in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return user + nice + system + irq + softirq, idle + iowait, steal


class MachineCpu:
    """CPU seconds the whole machine spent busy and idle over a block (other people's work included)."""

    def __enter__(self) -> "MachineCpu":
        self._start = machine_cpu_ticks()
        self.busy_s = self.idle_s = self.steal_s = None
        return self

    def __exit__(self, *exc) -> None:
        end = machine_cpu_ticks()
        if self._start is None or end is None:
            return
        self.busy_s, self.idle_s, self.steal_s = ((e - s) / _TICKS for s, e in zip(self._start, end))
