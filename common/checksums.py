"""Checksums of the files a run writes, recorded at write time and checked before a rerun reuses them.

A file that rots between two runs (a truncated copy, a flipped bit on a failing disk, a file another process
rewrote) must not be read back as if it were the one written. Every file :mod:`common.atomic_io` commits while a
:func:`recording` is open gets its checksum (CRC-32 and size, ``crc32:<8 hex>:<bytes>``, the check gzip and
Parquet pages use against corruption) into that recording; a stage keeps them beside its results
(``pipelines/runtime/task_map.py``), a curated chunk beside its statistics (``pipelines/web/shard_output.py``),
and :func:`problems` says which of them no longer match.

Recordings are per thread (the chunks of curate_cc run in threads). A Ray task records its own and returns it
with its result; :func:`add` merges it into the driver's open recording.
"""

from __future__ import annotations

import os
import threading
import zlib
from contextlib import contextmanager
from typing import Dict, Iterator, List, Mapping, Optional

_BLOCK = 1 << 20
_local = threading.local()


def file_checksum(path: str) -> str:
    crc, size = 0, 0
    with open(path, "rb") as handle:
        while True:
            block = handle.read(_BLOCK)
            if not block:
                break
            crc = zlib.crc32(block, crc)
            size += len(block)
    return f"crc32:{crc:08x}:{size}"


def _stack() -> List[Dict[str, str]]:
    if not hasattr(_local, "stack"):
        _local.stack = []
    return _local.stack


@contextmanager
def recording() -> Iterator[Dict[str, str]]:
    """{absolute path: checksum} of every file committed in this thread while the block runs (nested
    recordings all get them)."""
    files: Dict[str, str] = {}
    _stack().append(files)
    try:
        yield files
    finally:
        _stack().remove(files)


def note_written(path: str) -> None:
    """Called by :mod:`common.atomic_io` when ``path`` is complete: its checksum into the open recordings."""
    stack = _stack()
    if not stack:
        return
    path = os.path.abspath(path)
    checksum = file_checksum(path)
    for files in stack:
        files[path] = checksum


def moved(source: str, target: str) -> None:
    """A recorded file renamed: its checksum follows it."""
    source, target = os.path.abspath(source), os.path.abspath(target)
    for files in _stack():
        if source in files:
            files[target] = files.pop(source)


def add(files: Mapping[str, str]) -> None:
    """Merge checksums recorded elsewhere (a Ray task's) into this thread's open recordings."""
    for recorded in _stack():
        recorded.update(files)


def problem(path: str, expected: str) -> Optional[str]:
    """Why ``path`` is not the file whose checksum was ``expected`` (missing, other size, other content), or None."""
    if not os.path.isfile(path):
        return f"{path} is missing"
    size = os.path.getsize(path)
    expected_size = int(expected.rsplit(":", 1)[1])
    if size != expected_size:
        return f"{path} has {size} bytes, {expected_size} when it was written"
    if file_checksum(path) != expected:
        return f"{path} does not match the checksum recorded when it was written"
    return None


def problems(files: Mapping[str, str], base: str = "") -> List[str]:
    """:func:`problem` for each file (paths relative to ``base`` where not absolute), in path order."""
    found = []
    for path in sorted(files):
        why = problem(os.path.join(base, path), files[path])
        if why:
            found.append(why)
    return found


def relative(files: Mapping[str, str], base: str) -> Dict[str, str]:
    """The same checksums keyed by paths relative to ``base`` (a folder that moves keeps its records)."""
    return {os.path.relpath(path, base): checksum for path, checksum in sorted(files.items())}


__all__ = ["add", "file_checksum", "moved", "note_written", "problem", "problems", "recording", "relative"]
