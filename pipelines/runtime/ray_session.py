"""Connecting a pipeline script to Ray: the cluster it was submitted to, or an embedded local one."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[2]  # the checkout: pipelines/runtime/ -> root


def init_ray(address: Optional[str], num_cpus: Optional[int]) -> None:
    """Under ``ray job submit`` (RAY_ADDRESS set) or with ``address``, join that cluster; otherwise start
    an embedded local Ray with ``num_cpus`` CPUs (None = all), no dashboard, the project on PYTHONPATH."""
    import ray

    if address or os.environ.get("RAY_ADDRESS"):
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=True)
        return
    ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, ignore_reinit_error=True,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}})
