"""Shared fixtures: one embedded Ray per test session (2 CPUs, no dashboard, auth off)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("OMP_NUM_THREADS", "1")
# Fail fast instead of hanging for 30 minutes if a Ray Data plan ever deadlocks.
os.environ.setdefault("RAY_DATA_EXECUTION_NO_PROGRESS_TIMEOUT_S", "600")


@pytest.fixture(scope="session")
def ray_local():
    import ray

    from pipelines.curate_cc import ROOT

    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}},
    )
    yield ray
    ray.shutdown()
