"""`ray job submit` against a private local head node, on the shared WARCs."""

from __future__ import annotations

import json
import time

import pytest

from pipelines.curate_cc import ROOT
from tests.curated_output import assert_invariant
from tests.local_ray_cluster import LocalRayCluster, _pids_using
from tests.shared_data import shared_path

pytestmark = pytest.mark.slow


def test_submitted_job_succeeds_and_writes_stats(tmp_path):
    from ray.job_submission import JobStatus, JobSubmissionClient

    warc_dir = shared_path("warc")
    out = tmp_path / "out"
    cluster = LocalRayCluster(num_cpus=2).start()
    try:
        client = JobSubmissionClient(cluster.dashboard_url)
        job_id = client.submit_job(
            entrypoint=f"python pipelines/curate_cc.py --input '{warc_dir}/*' --output {out} --chunk-files 5",
            runtime_env={"working_dir": str(ROOT), "env_vars": {"OMP_NUM_THREADS": "1"}},
        )
        deadline = time.time() + 600
        status = client.get_job_status(job_id)
        while status not in {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.STOPPED} and time.time() < deadline:
            time.sleep(2)
            status = client.get_job_status(job_id)
        logs = client.get_job_logs(job_id)
        assert status == JobStatus.SUCCEEDED, logs[-3000:]
        assert "per-operator statistics" in logs and "langid" in logs

        stats = json.loads((out / "stats.json").read_text())
        assert_invariant(stats)
        assert [op["name"] for op in stats["operators"]] == ["warc_reader", "url_filter", "extract", "langid"]
        assert {"en", "zh", "ja", "ru", "pt"} <= set(stats["kept_per_language"])
    finally:
        cluster.stop()
    assert not _pids_using(cluster.temp_dir)
