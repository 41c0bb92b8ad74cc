"""Shared fixtures: one embedded Ray per test session (2 CPUs, no dashboard, auth off); a private cache folder."""

from __future__ import annotations

import os
import tempfile

import pytest

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("OMP_NUM_THREADS", "1")
# Built benchmark indexes (operators/decontamination/index.py) go to a folder of this session's, shared by its
# tests (an index is keyed by its settings and files) and by the Ray workers they start.
os.environ["MARCO_CACHE"] = tempfile.mkdtemp(prefix="marco-test-cache-")
# Fail fast instead of hanging for 30 minutes if a Ray Data plan ever deadlocks.
os.environ.setdefault("RAY_DATA_EXECUTION_NO_PROGRESS_TIMEOUT_S", "600")


def pytest_collection_modifyitems(config, items):
    # A test that uses the embedded Ray, or the KenLM models trained for the session, takes minutes:
    # `make test-fast` (-m "not slow") leaves it out.
    for item in items:
        if {"ray_local", "reference_lms"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def ray_local():
    import ray

    from tests.fixtures.shared_data import REPO_ROOT as ROOT

    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}},
    )
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def reference_lms(tmp_path_factory):
    """KenLM models for the 29 languages trained on shared/data (about 15 s), with held-out text."""
    from pipelines.tools.train_kenlm import kenlm_tool
    from pipelines.tools.train_reference_lms import train_all
    from tests.fixtures.shared_data import shared_path

    data = shared_path("ntrex128").parent
    shared_path("mono_leipzig_lingua")
    try:
        kenlm_tool("lmplz")
    except Exception as exc:  # the setup command builds it; say so instead of failing obscurely
        pytest.fail(f"{exc}")
    output = tmp_path_factory.mktemp("kenlm")
    train_all(str(data), str(output))
    return str(output)
