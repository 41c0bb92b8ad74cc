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


def _dropped_metrics(port: int) -> dict:
    """sum by (operator, reason) of ray_curation_docs_dropped_total on the node's metrics port."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    totals: dict = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "ray_curation_docs_dropped_total":
                key = (sample.labels["operator"], sample.labels["reason"])
                totals[key] = totals.get(key, 0) + int(sample.value)
    return totals


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
        assert [op["name"] for op in stats["operators"]] == ["warc_reader", "url_filter", "extract", "langid", "quality"]
        assert {"en", "zh", "ru", "pt"} <= set(stats["kept_per_language"])

        # The same drops, live in Ray metrics (what the dashboard's Metrics view and Grafana show).
        expected = {(op["name"], r): n for op in stats["operators"] for r, n in op["dropped"].items()}
        deadline = time.time() + 60
        while (found := _dropped_metrics(cluster.metrics_port)) != expected and time.time() < deadline:
            time.sleep(3)
        assert found == expected
    finally:
        cluster.stop()
    assert not _pids_using(cluster.temp_dir)
