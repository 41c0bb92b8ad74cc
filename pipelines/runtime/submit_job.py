"""Submit a pipeline to a Ray cluster as a job that says what it is.

    python pipelines/submit_job.py --address http://localhost:8265 -- \\
        python pipelines/curate_cc.py --config configs/curate_cc.yaml --input ... --output ...

Like ``ray job submit --working-dir . -- ...``, plus job metadata (dashboard → Jobs → the job, and
``ray job list``): ``pipeline`` (the script's name), ``config_sha256`` (of the ``--config`` file's
bytes, or ``defaults`` without one), ``git_commit`` and ``git_dirty`` (of this checkout), and
``entrypoint``. The submission id is ``<pipeline>-<time>`` unless ``--submission-id`` gives one.
Prints the id; ``--wait`` follows the job to its end, printing its statistics table each time it changes
(``pipelines/job_stats.py --follow``), and exits 0 only when it SUCCEEDED. Relative local
``--input``/``--output`` (and the other data-path flags of ``pipelines/runtime/job_paths.py``) are made
absolute against the directory this command runs in — paths the cluster's nodes must see (a local cluster,
or a shared file system) — where a plain ``ray job submit`` would write them into Ray's temporary copy of the
working dir (the pipelines refuse that).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parents[2]  # the checkout: pipelines/runtime/ -> root

from common.config_check import ConfigError
from pipelines.runtime.job_paths import absolute_entrypoint


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def job_metadata(entrypoint: List[str]) -> Dict[str, str]:
    scripts = [a for a in entrypoint if a.endswith(".py")]
    if not scripts:
        raise ConfigError("entrypoint: expected a pipeline script, e.g. python pipelines/curate_cc.py ...")
    config = None
    for index, arg in enumerate(entrypoint):
        if arg == "--config" and index + 1 < len(entrypoint):
            config = entrypoint[index + 1]
        elif arg.startswith("--config="):
            config = arg.split("=", 1)[1]
    if config is None:
        config_hash = "defaults"
    else:
        path = config if os.path.isabs(config) else str(ROOT / config)
        if not os.path.isfile(path):
            raise ConfigError(f"--config: file not found: {config}")
        with open(path, "rb") as handle:
            config_hash = hashlib.sha256(handle.read()).hexdigest()
    return {"pipeline": Path(scripts[0]).stem, "config_sha256": config_hash,
            "git_commit": _git("rev-parse", "HEAD") or "unknown",
            "git_dirty": "true" if _git("status", "--porcelain", "--untracked-files=no") else "false",
            "entrypoint": shlex.join(entrypoint)}


def submit(address: str, entrypoint: List[str], submission_id: Optional[str] = None,
           env_vars: Optional[Dict[str, str]] = None) -> str:
    from ray.job_submission import JobSubmissionClient

    entrypoint = absolute_entrypoint(entrypoint, os.getcwd())
    metadata = job_metadata(entrypoint)
    client = JobSubmissionClient(address)
    runtime_env = {"working_dir": str(ROOT),
                   "env_vars": {"OMP_NUM_THREADS": "1", "RAY_AUTH_MODE": os.environ.get("RAY_AUTH_MODE", "disabled"),
                                **(env_vars or {})}}
    return client.submit_job(entrypoint=shlex.join(entrypoint), runtime_env=runtime_env, metadata=metadata,
                             submission_id=submission_id or f"{metadata['pipeline']}-{time.strftime('%Y%m%d-%H%M%S')}")


def wait(address: str, job_id: str, timeout: float = 24 * 3600) -> str:
    from ray.job_submission import JobStatus, JobSubmissionClient

    client = JobSubmissionClient(address)
    deadline = time.time() + timeout
    status = client.get_job_status(job_id)
    while status not in {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.STOPPED} and time.time() < deadline:
        time.sleep(2)
        status = client.get_job_status(job_id)
    return str(status.value if hasattr(status, "value") else status)


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        usage="submit_job.py [--address URL] [--submission-id ID] [--wait] -- python pipelines/X.py ...")
    parser.add_argument("--address", default=os.environ.get("RAY_API_SERVER_ADDRESS",
                                                            os.environ.get("RAY_ADDRESS", "http://127.0.0.1:8265")))
    parser.add_argument("--submission-id")
    parser.add_argument("--wait", action="store_true")
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    if split == len(argv):
        parser.error("the pipeline's command line goes after --")
    try:
        job_id = submit(args.address, argv[split + 1:], args.submission_id)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(job_id, flush=True)
    if args.wait:
        from ray.job_submission import JobSubmissionClient

        from pipelines.runtime.job_stats import follow

        status = follow(JobSubmissionClient(args.address), job_id, lambda text: print(text + "\n", flush=True))
        print(f"{job_id}: {status}")
        return 0 if status == "SUCCEEDED" else 1
    return 0

