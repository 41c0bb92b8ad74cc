"""Local paths of a pipeline submitted with ``ray job submit --working-dir``.

Such a job runs in Ray's temporary copy of the working directory, on the head node: a relative ``--output``
would be written inside that copy, succeed, and vanish with it. So under a submitted job with a working dir a
relative local ``--input`` or ``--output`` is refused, naming the way out: an absolute path or a URI on storage
every node sees, or ``pipelines/submit_job.py``, which resolves relative paths against the directory it is run
from before it submits (:func:`absolute_entrypoint`). Relative ``--config`` files are fine: they are part of
the uploaded working dir.
"""

from __future__ import annotations

import json
import os
from typing import Iterable, List, Optional

from common.config_check import ConfigError

# The flags whose values are local data paths (read or written by the job), in every pipeline and launcher.
PATH_FLAGS = ("--input", "--output", "--tokens", "--laser-dir", "--data", "--pairs", "--output-dir")


def submitted_working_dir() -> Optional[str]:
    """The working dir (a URI) of the Ray job this process is the entrypoint of, None outside such a job."""
    raw = os.environ.get("RAY_JOB_CONFIG_JSON_ENV_VAR")
    if not raw:
        return None
    try:
        runtime_env = json.loads(raw).get("runtime_env") or {}
    except (ValueError, AttributeError):
        return None
    return runtime_env.get("working_dir") or None


def _is_relative_local(path: str) -> bool:
    return bool(path) and "://" not in path and not os.path.isabs(os.path.expanduser(path))


def check_job_paths(flag: str, paths: Iterable[Optional[str]]) -> None:
    """Refuse relative local ``paths`` given as ``flag`` when running as a job with a working dir."""
    if submitted_working_dir() is None:
        return
    for path in paths:
        if path is not None and _is_relative_local(path):
            raise ConfigError(
                f"{flag} {path}: a relative path in a job submitted with a working dir is inside Ray's temporary "
                f"copy of it ({os.getcwd()}) and is lost with it; use an absolute path or a URI on storage every "
                f"node sees, or submit with `python pipelines/submit_job.py -- ...`, which resolves it against "
                f"your directory")


def absolute_entrypoint(entrypoint: List[str], cwd: str) -> List[str]:
    """``entrypoint`` with the relative local values of :data:`PATH_FLAGS` made absolute against ``cwd``
    (``--flag value`` and ``--flag=value``; every value after a ``nargs="+"`` flag up to the next option)."""
    out: List[str] = []
    current: Optional[str] = None
    for arg in entrypoint:
        if arg.startswith("--"):
            flag, equals, value = arg.partition("=")
            current = flag if flag in PATH_FLAGS and not equals else None
            if equals and flag in PATH_FLAGS and _is_relative_local(value):
                arg = f"{flag}={os.path.join(cwd, value)}"
            out.append(arg)
            continue
        if current is not None and _is_relative_local(arg):
            arg = os.path.join(cwd, arg)
        out.append(arg)
    return out


__all__ = ["PATH_FLAGS", "absolute_entrypoint", "check_job_paths", "submitted_working_dir"]
