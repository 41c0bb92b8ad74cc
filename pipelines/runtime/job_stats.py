"""The per-operator statistics of a live or finished job, from the cluster's dashboard address alone.

    python pipelines/job_stats.py --address http://127.0.0.1:8265 JOB_ID
    python pipelines/job_stats.py --address http://127.0.0.1:8265 JOB_ID --follow   # until the job ends

``JOB_ID`` is the submission id (``ray job list``; ``pipelines/submit_job.py`` prints it). The table is read
from the job's log through Ray's Jobs API (``pipelines/runtime/running_stats.py``): curate_cc's driver logs
the statistics so far after every chunk, and every pipeline its final statistics at its end. So it works from
any machine that reaches the dashboard, while the job runs and after it ended, without the output folder.
``--follow`` prints the table again each time it changes, and the job's status at the end (exit status 0 only
when it SUCCEEDED), which is what ``pipelines/submit_job.py --wait`` shows too.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Callable, List, Optional

from pipelines.runtime.running_stats import RunningStats, last_running_stats

TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED"}


def _status(value) -> str:
    return str(getattr(value, "value", value))


def job_report(client, job_id: str) -> tuple:
    """(status, the heading line, the job's last statistics in its log or None)."""
    info = client.get_job_info(job_id)
    status = _status(info.status)
    pipeline = (info.metadata or {}).get("pipeline", "")
    heading = f"{job_id}: {status}" + (f" (pipeline {pipeline}" if pipeline else " (") + \
        (f", Ray job {info.job_id})" if info.job_id else ")")
    return status, heading, last_running_stats(client.get_job_logs(job_id))


def describe(status: str, running: Optional[RunningStats]) -> str:
    """The table under its heading, or a sentence saying why there is none."""
    if running is not None:
        return f"{running.heading()}:\n{running.stats.table()}"
    if status in TERMINAL:
        return "the job's log holds no statistics (it stopped before its first chunk finished)"
    return "no statistics in the job's log yet"


def follow(client, job_id: str, show: Callable[[str], None], poll_s: float = 2.0,
           timeout: float = 24 * 3600) -> str:
    """Show the job's table each time it changes until the job ends; its final status."""
    shown = None
    deadline = time.time() + timeout
    while True:
        status, heading, running = job_report(client, job_id)
        body = describe(status, running)
        if body != shown and (running is not None or status in TERMINAL):
            show(f"{heading}\n{body}")
            shown = body
        if status in TERMINAL or time.time() > deadline:
            return status
        time.sleep(poll_s)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job_id", metavar="JOB_ID", help="the job's submission id")
    parser.add_argument("--address", default=os.environ.get("RAY_API_SERVER_ADDRESS",
                                                            os.environ.get("RAY_ADDRESS", "http://127.0.0.1:8265")),
                        help="the dashboard's address (default: RAY_API_SERVER_ADDRESS, RAY_ADDRESS or "
                             "http://127.0.0.1:8265)")
    parser.add_argument("--follow", action="store_true", help="print the table as it changes until the job ends")
    args = parser.parse_args(argv)
    from ray.job_submission import JobSubmissionClient

    try:
        client = JobSubmissionClient(args.address)
        if args.follow:
            status = follow(client, args.job_id, lambda text: print(text + "\n", flush=True))
            print(f"{args.job_id}: {status}")
            return 0 if status == "SUCCEEDED" else 1
        status, heading, running = job_report(client, args.job_id)
    except (RuntimeError, ConnectionError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(heading)
    print(describe(status, running))
    return 0
