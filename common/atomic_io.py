"""Every file a run writes appears whole or not at all, a rerun resumes only the run it started, and every
run ends the same way. NeMo Curator's ``utils/atomic_io.py`` does the first for its writers; here one module
does all three for every pipeline and trainer:

* :func:`atomic_write` — a temporary file beside the target, renamed over it on success (``os.replace`` is
  atomic on one file system), removed on failure, its checksum recorded where a run asks
  (:mod:`common.checksums`); :func:`write_text`, :func:`write_json`,
  :func:`write_parquet`, :func:`save_npy`, :func:`save_npz` and :class:`ParquetStream` for the common cases;
  :func:`publish` moves a finished file or folder into place.
* :func:`check_plan` — the first run records what it was asked to do (``OUTPUT/_plan.json``); a rerun into
  the same folder with other inputs or settings is one clear error naming what changed (or, with
  ``--overwrite``, a fresh start) instead of a silent reuse of stale output.
* :func:`finish_run` — the statistics are checked (each operator's ``docs_in − docs_out`` equals its drops),
  then ``stats.json`` and ``report.html`` are written, both atomically, in every pipeline.
"""

from __future__ import annotations

import json
import os
import uuid
from contextlib import contextmanager
from typing import IO, Any, Iterator, List, Optional, Sequence

from common.checksums import moved, note_written
from common.config_check import ConfigError


def _temporary(path: str) -> str:
    # Unique per writer, so two processes finishing the same file never write into one temporary file.
    return f"{path}.tmp-{uuid.uuid4().hex[:8]}"


@contextmanager
def atomic_path(path: str, suffix: str = "") -> Iterator[str]:
    """A temporary path (ending in ``suffix``, for writers that insist on one) that becomes ``path`` when the
    block ends without an exception; parent folders are created."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = _temporary(path) + suffix
    try:
        yield tmp
        os.replace(tmp, path)
        note_written(path)
    except OSError as exc:
        if not exc.filename:   # a writer given an open file (numpy, Arrow) does not say which: this one
            exc.filename = path
        raise
    finally:
        if os.path.lexists(tmp):
            os.remove(tmp)


@contextmanager
def atomic_write(path: str, mode: str = "w") -> Iterator[IO]:
    """An open file (text as UTF-8, or binary with ``mode="wb"``) that becomes ``path`` when the block ends."""
    with atomic_path(path) as tmp:
        with open(tmp, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as handle:
            yield handle


def write_text(path: str, text: str) -> str:
    with atomic_write(path) as handle:
        handle.write(text)
    return path


def write_json(path: str, value: Any, indent: Optional[int] = 1) -> str:
    return write_text(path, json.dumps(value, indent=indent, ensure_ascii=False))


def write_parquet(table, path: str, compression: str = "zstd") -> str:
    import pyarrow.parquet as pq

    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression=compression)
    return path


def save_npy(path: str, array) -> str:
    import numpy as np

    with atomic_path(path, ".npy") as tmp:
        np.save(tmp, array)
    return path


def save_npz(path: str, **arrays) -> str:
    import numpy as np

    with atomic_path(path, ".npz") as tmp:
        np.savez(tmp, **arrays)
    return path


class ParquetStream:
    """Tables appended one at a time to one Parquet file (memory stays one table), which appears at ``path``
    on :meth:`close` only if something was written."""

    def __init__(self, path: str, compression: str = "zstd") -> None:
        self.path = path
        self.compression = compression
        self.rows = 0
        self._tmp: Optional[str] = None
        self._writer = None

    def write(self, table) -> None:
        import pyarrow.parquet as pq

        if self._writer is None:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            self._tmp = _temporary(self.path)
            self._writer = pq.ParquetWriter(self._tmp, table.schema, compression=self.compression)
        self._writer.write_table(table.cast(self._writer.schema))
        self.rows += table.num_rows

    def close(self, commit: bool = True) -> None:
        if self._writer is None:
            return
        self._writer.close()
        self._writer = None
        if commit:
            os.replace(self._tmp, self.path)
            note_written(self.path)
        elif os.path.exists(self._tmp):
            os.remove(self._tmp)

    def __enter__(self) -> "ParquetStream":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        self.close(commit=kind is None)


def publish(source: str, target: str) -> str:
    """Move a finished file or folder to ``target`` (a rename: the same file system)."""
    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    os.replace(source, target)
    moved(source, target)
    return target


PLAN_FILE = "_plan.json"


def _differences(recorded: Any, wanted: Any, where: str = "", limit: int = 4) -> List[str]:
    """Up to ``limit`` readable differences between two JSON values ("settings.perplexity.model_dir: None → '/m'")."""
    if isinstance(recorded, dict) and isinstance(wanted, dict):
        out: List[str] = []
        for key in sorted(set(recorded) | set(wanted), key=str):
            if len(out) >= limit:
                break
            name = f"{where}.{key}" if where else str(key)
            if key not in recorded:
                out.append(f"{name}: new")
            elif key not in wanted:
                out.append(f"{name}: gone")
            elif recorded[key] != wanted[key]:
                out.extend(_differences(recorded[key], wanted[key], name, limit - len(out)))
        return out
    if isinstance(recorded, list) and isinstance(wanted, list) and len(recorded) == len(wanted):
        out = []
        for i, (a, b) in enumerate(zip(recorded, wanted)):
            if a != b and len(out) < limit:
                out.extend(_differences(a, b, f"{where}[{i}]", limit - len(out)))
        return out
    if isinstance(recorded, list) and isinstance(wanted, list):
        return [f"{where}: {len(recorded)} → {len(wanted)} entries"]
    return [f"{where}: {recorded!r} → {wanted!r}"]


def _contents(folder: str, ignore: Sequence[str] = ()) -> List[str]:
    """What ``folder`` holds, without the names in ``ignore`` and the writer's lock ([] when it does not exist)."""
    from common.run_lock import LOCK_NAME

    if not os.path.isdir(folder):
        return []
    return sorted(n for n in os.listdir(folder) if n not in ignore and n != LOCK_NAME)


def _empty_folder(folder: str, keep: Sequence[str] = ()) -> None:
    import shutil

    from common.run_lock import LOCK_NAME

    for name in os.listdir(folder):
        if name in keep or name == LOCK_NAME:
            continue
        path = os.path.join(folder, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)


def _as_json(plan: Any) -> Any:
    return json.loads(json.dumps(plan, default=str))


def _recorded_plan(output: str) -> Optional[Any]:
    path = os.path.join(output, PLAN_FILE)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def plan_state(output: str, plan: Any, ignore: Sequence[str] = ()) -> str:
    """What :func:`check_plan` would do with ``output``, without writing anything (for dry runs): "new",
    "resume" (the same plan) or "refused" (another plan, or contents but no plan: a run needs --overwrite)."""
    recorded = _recorded_plan(output)
    if recorded is not None:
        return "resume" if recorded == _as_json(plan) else "refused"
    return "refused" if _contents(output, ignore) else "new"


def check_writable(output: str, flag: str = "--output") -> None:
    """Create ``output`` and write (then remove) a small file in it, so a read-only, full or forbidden output
    location is one :class:`ConfigError` naming it before any work, not a traceback in the middle of it."""
    probe = os.path.join(output, f".write-test-{uuid.uuid4().hex[:8]}")
    try:
        os.makedirs(output, exist_ok=True)
        with open(probe, "wb") as handle:
            handle.write(b"\0" * 4096)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise ConfigError(f"{flag} {output}: cannot write there ({exc.strerror})") from None
    finally:
        if os.path.lexists(probe):
            os.remove(probe)


def check_plan(output: str, plan: Any, overwrite: bool = False, flag: str = "--output", keep: Sequence[str] = (),
               ignore: Sequence[str] = (), owned: Sequence[str] = (PLAN_FILE, "stats.json"),
               owner: str = "run of this project", record: str = "of what made it") -> bool:
    """Guard a run's output folder with what the run was asked to do (``plan``: JSON data naming the pipeline,
    its inputs' identities and its settings, see :mod:`common.fingerprints`), kept in ``OUTPUT/_plan.json``.

    The first run records it. A rerun with the same plan may reuse what is there (returns False). A different
    plan, or a folder that is not empty and holds no plan, is one :class:`ConfigError` naming what changed;
    with ``overwrite`` the folder is emptied first and the run starts afresh (returns True). The folder is
    checked to be writable first (:func:`check_writable`).

    For folders that hold more than a run's output: names in ``ignore`` do not make a folder "not empty"
    (caches keyed by their own inputs); names in ``keep`` are never removed (a lock file the caller holds);
    ``--overwrite`` empties a folder without a plan only when it holds one of ``owned`` (what an ``owner``
    writes), and ``record`` completes the "holds no record ..." message."""
    plan = _as_json(plan)
    check_writable(output, flag)
    recorded = _recorded_plan(output)
    if recorded is not None:
        if recorded == plan:
            return False
        if not overwrite:
            changed = "; ".join(_differences(recorded, plan))
            raise ConfigError(f"{flag} {output} holds a run made with other inputs or settings ({changed}); "
                              f"use a new output folder, or pass --overwrite to replace it")
        _empty_folder(output, keep)
    elif _contents(output, ignore):
        if not overwrite:
            raise ConfigError(f"{flag} {output} is not empty and holds no record {record}; "
                              f"use a new or empty output folder, or pass --overwrite to replace it")
        if not any(os.path.exists(os.path.join(output, name)) for name in owned):
            names = ", ".join(owned)
            raise ConfigError(f"{flag} {output}: --overwrite refuses to empty a folder no {owner} wrote "
                              f"(none of {names} in it); use a new or empty output folder")
        _empty_folder(output, keep)
    write_json(os.path.join(output, PLAN_FILE), plan)
    return True


DROPS_PATH = os.path.join("_drops", "drops.parquet")


def finish_run(output: str, stats, title: str) -> str:
    """End a run: check ``stats`` (a ``PipelineStats``), write ``OUTPUT/stats.json``, the sampled dropped
    documents (``OUTPUT/_drops/drops.parquet``, where the run sampled any) and ``report.html``; the path of
    ``stats.json``."""
    from common.stats_report import render

    stats.check()
    if stats.drop_samples:
        write_parquet(stats.drop_samples.to_table(), os.path.join(output, DROPS_PATH))
    path = write_text(os.path.join(output, "stats.json"), stats.to_json())
    write_text(os.path.join(output, "report.html"), render(stats.to_dict(), title, stats.drop_samples))
    return path


__all__ = ["PLAN_FILE", "ParquetStream", "atomic_path", "atomic_write", "check_plan", "check_writable", "finish_run",
           "plan_state", "publish", "save_npy", "save_npz", "write_json", "write_parquet", "write_text"]
