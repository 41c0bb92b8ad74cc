"""Every file a run writes appears whole or not at all, a rerun resumes only the run it started, and every
run ends the same way. NeMo Curator's ``utils/atomic_io.py`` does the first for its writers; here one module
does all three for every pipeline and trainer:

* :func:`atomic_write` — a temporary file beside the target, renamed over it on success (``os.replace`` is
  atomic on one file system), removed on failure; :func:`write_text`, :func:`write_json`,
  :func:`write_parquet`, :func:`save_npy`, :func:`save_npz` and :class:`ParquetStream` for the common cases;
  :func:`publish` moves a finished file or folder into place.
* :func:`check_plan` — the first run records what it was asked to do; a rerun into the same folder with other
  inputs or settings is one clear error instead of a silent mix of two runs.
* :func:`finish_run` — the statistics are checked (each operator's ``docs_in − docs_out`` equals its drops),
  then ``stats.json`` and ``report.html`` are written, both atomically, in every pipeline.
"""

from __future__ import annotations

import json
import os
import uuid
from contextlib import contextmanager
from typing import IO, Any, Iterator, Optional

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
    return target


def check_plan(path: str, plan: Any, output: str, holds: str = "a run over other inputs or settings") -> None:
    """Record ``plan`` (JSON) at ``path`` on the first run; on a rerun, refuse a different one with the error
    "--output OUTPUT holds <holds>; use a new output directory"."""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            if json.load(handle) != json.loads(json.dumps(plan)):
                raise ConfigError(f"--output {output} holds {holds}; use a new output directory")
        return
    write_json(path, plan)


def finish_run(output: str, stats, title: str) -> str:
    """End a run: check ``stats`` (a ``PipelineStats``), write ``OUTPUT/stats.json`` and ``report.html`` beside
    it; the path of ``stats.json``."""
    from common.stats_report import render

    stats.check()
    path = write_text(os.path.join(output, "stats.json"), stats.to_json())
    write_text(os.path.join(output, "report.html"), render(stats.to_dict(), title))
    return path


__all__ = ["ParquetStream", "atomic_path", "atomic_write", "check_plan", "finish_run", "publish", "save_npy",
           "save_npz", "write_json", "write_parquet", "write_text"]
