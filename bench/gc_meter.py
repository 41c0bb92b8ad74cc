"""Time spent in Python's garbage collector, per process (a diagnostic of bench/ray_diagnosis.py).

``install()`` adds a ``gc.callbacks`` hook that sums the wall time of each collection per generation and,
every 200 collections and at exit, writes the totals to ``$BENCH_GC_DIR/gc-<pid>.json``. Installed in
Ray workers with ``runtime_env={"worker_process_setup_hook": "bench.gc_meter.install"}``.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import time

_state = {"start": None, "gen": None, "time": [0.0, 0.0, 0.0], "count": [0, 0, 0], "calls": 0}


def _write() -> None:
    directory = os.environ.get("BENCH_GC_DIR")
    if not directory:
        return
    try:
        with open(os.path.join(directory, f"gc-{os.getpid()}.json"), "w", encoding="utf-8") as handle:
            json.dump({"pid": os.getpid(), "seconds": _state["time"], "collections": _state["count"],
                       "tracked_objects": len(gc.get_objects())}, handle)
    except OSError:
        pass


def _callback(phase: str, info: dict) -> None:
    if phase == "start":
        _state["start"] = time.perf_counter()
        _state["gen"] = info.get("generation", 0)
    elif _state["start"] is not None:
        gen = _state["gen"]
        _state["time"][gen] += time.perf_counter() - _state["start"]
        _state["count"][gen] += 1
        _state["start"] = None
        _state["calls"] += 1
        if _state["calls"] % 200 == 0:
            _write()


def install() -> None:
    if _callback not in gc.callbacks:
        gc.callbacks.append(_callback)
        atexit.register(_write)
