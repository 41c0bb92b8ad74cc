"""Connecting a pipeline script to Ray: the cluster it was submitted to, or an embedded local one."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[2]  # the checkout: pipelines/runtime/ -> root


def init_ray(address: Optional[str], num_cpus: Optional[int]) -> None:
    """Under ``ray job submit`` (RAY_ADDRESS set) or with ``address``, join that cluster; otherwise start
    an embedded local Ray with ``num_cpus`` CPUs (None = all), no dashboard and no metrics (whose memory grows
    with every dataset, :data:`EMBEDDED_SYSTEM_CONFIG`), the project on PYTHONPATH."""
    import ray

    if address or os.environ.get("RAY_ADDRESS"):
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=True)
        return
    ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, ignore_reinit_error=True,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}},
             _system_config=EMBEDDED_SYSTEM_CONFIG)


# An embedded Ray has no dashboard and nothing scrapes its metrics, yet by default it records them: Ray Data's
# statistics actor about 0.6 MB and the metrics agent about 0.55 MB more per dataset (curate_cc runs one per
# chunk), without end; and the control store keeps the events of the last 100,000 tasks. Measured with
# bench/load.py (bench/NOTES.md, "Reliability"). stats.json is counted by our own actor, not by metrics.
EMBEDDED_SYSTEM_CONFIG = {"enable_metrics_collection": False, "task_events_max_num_task_in_gcs": 10_000}
