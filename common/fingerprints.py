"""What a run's output depends on, in a form a rerun can compare: the identity of its input files and of
every file its settings name (models, word lists), beside the settings themselves.

A finished chunk, shard or stage may be reused by a rerun only when these are the same as when it was made
(:func:`common.atomic_io.check_plan` compares them). Local files are identified by size and modification time
in nanoseconds — what ``make`` and rsync trust — so a model retrained in place, an input rewritten or
replaced, or a folder gaining a file all count as a change, without reading gigabytes of models per run.
URLs (``s3://``, ``https://``: Common Crawl's files never change) are identified by the URL alone.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import json
import os
from typing import Any, Dict, Iterable, List


def file_identity(location: str) -> Dict[str, Any]:
    """``{"path", "size", "mtime_ns"}`` of a local file; ``{"path", "digest"}`` of a folder (:func:`tree_digest`);
    ``{"path", "matches"}`` of a prefix naming several files (a Moses corpus ``train.en-de`` → ``.en``, ``.de``);
    ``{"path"}`` of a URL or of a name such as a hub id."""
    if "://" in location:
        return {"path": location}
    path = os.path.abspath(location)
    if os.path.isfile(path):
        status = os.stat(path)
        return {"path": path, "size": status.st_size, "mtime_ns": status.st_mtime_ns}
    if os.path.isdir(path):
        return {"path": path, "digest": tree_digest(path)}
    matches = sorted(glob.glob(glob.escape(path) + "*"))
    if matches:
        return {"path": path, "matches": [file_identity(match) for match in matches if os.path.isfile(match)]}
    return {"path": location}


def files_identity(locations: Iterable[str]) -> List[Dict[str, Any]]:
    return [file_identity(location) for location in locations]


def content_digest(path: str, algorithm: str = "sha256") -> str:
    """The hex digest of a file's bytes, read in 1 MiB blocks: for a file whose content, not its date, is what
    a consumer depends on (a manifest, a blend, exported weights, a model card's sources)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_digest(path: str) -> str:
    """A digest of a file or of every file under a folder (relative names, sizes, modification times)."""
    digest = hashlib.sha256()
    if os.path.isfile(path):
        status = os.stat(path)
        digest.update(f"{status.st_size} {status.st_mtime_ns}".encode())
        return digest.hexdigest()[:16]
    for folder, subfolders, names in os.walk(path):
        subfolders.sort()
        for name in sorted(names):
            full = os.path.join(folder, name)
            status = os.stat(full)
            digest.update(f"{os.path.relpath(full, path)}\0{status.st_size} {status.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def named_files(settings: Any) -> Dict[str, str]:
    """``{path: tree_digest}`` of every existing local file or folder named by a string anywhere in
    ``settings`` (a dataclass, mapping or list): the models and lists those settings make a run load."""
    found: Dict[str, str] = {}

    def visit(value: Any) -> None:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            visit(dataclasses.asdict(value))
        elif isinstance(value, dict):
            for item in value.values():
                visit(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                visit(item)
        elif isinstance(value, str) and value and "://" not in value and "\n" not in value and len(value) < 4096:
            if os.path.isabs(value) and os.path.exists(value):
                found[value] = tree_digest(value)

    visit(settings)
    return dict(sorted(found.items()))


def settings_plan(settings: Any, drop: Iterable[str] = ()) -> Dict[str, Any]:
    """The settings (as JSON data, without the top-level keys in ``drop``: those that cannot change the
    output, such as CPU counts) and the digests of the files they name."""
    data = dataclasses.asdict(settings) if dataclasses.is_dataclass(settings) else dict(settings)
    for key in drop:
        data.pop(key, None)
    data = json.loads(json.dumps(data, default=str))
    return {"settings": data, "files": named_files(data)}


__all__ = ["content_digest", "file_identity", "files_identity", "named_files", "settings_plan", "tree_digest"]
