"""A job submitted to a private local head node (own temp dir, explicit dashboard and metrics-export
ports, stopped by process id) on the shared WARCs: it succeeds, carries its metadata, the dashboard
lists it and its Ray Data operators, and the Ray metrics scraped from the node equal stats.json for
every operator and reason; so do those of a global dedup job run on its output and of a parallel-data job."""

from __future__ import annotations

import hashlib
import json
import os
import time

import pytest

from tests.fixtures.curated_output import assert_invariant
from tests.fixtures.local_ray_cluster import LocalRayCluster, _pids_using
from tests.fixtures.shared_data import REPO_ROOT as ROOT
from tests.fixtures.shared_data import shared_path

pytestmark = pytest.mark.slow


def _scraped_counts(port: int, pipeline: str = "curate_cc") -> dict:
    """Sums over processes and languages of one pipeline's curation counters on the node's metrics port:
    {("in"|"out", operator): n} and {("dropped", operator, reason): n}."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    totals: dict = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            kind = {"ray_curation_docs_in_total": "in", "ray_curation_docs_out_total": "out",
                    "ray_curation_docs_dropped_total": "dropped"}.get(sample.name)
            if kind is None or sample.labels.get("pipeline") != pipeline:
                continue
            key = (kind, sample.labels["operator"]) + ((sample.labels["reason"],) if kind == "dropped" else ())
            totals[key] = totals.get(key, 0) + int(sample.value)
    return totals


def _expected_counts(stats: dict) -> dict:
    expected = {}
    for op in stats["operators"]:
        expected[("in", op["name"])] = op["docs_in"]
        if op["docs_out"]:
            expected[("out", op["name"])] = op["docs_out"]
        for reason, count in op["dropped"].items():
            expected[("dropped", op["name"], reason)] = count
    return expected


def test_submitted_job_succeeds_and_its_metrics_equal_stats(tmp_path):
    import urllib.request

    from ray.job_submission import JobSubmissionClient

    from pipelines.runtime.submit_job import submit, wait

    warc_dir = shared_path("warc")
    out = tmp_path / "out"
    cluster = LocalRayCluster(num_cpus=2).start()
    try:
        client = JobSubmissionClient(cluster.dashboard_url)
        entrypoint = ["python", "pipelines/curate_cc.py", "--config", "configs/curate_cc.yaml",
                      "--input", f"{warc_dir}/*", "--output", str(out), "--chunk-files", "5"]
        job_id = submit(cluster.dashboard_url, entrypoint)
        status = wait(cluster.dashboard_url, job_id, timeout=600)
        logs = client.get_job_logs(job_id)
        assert status == "SUCCEEDED", logs[-3000:]
        assert "per-operator statistics" in logs and "langid" in logs and "progress: 3/3 chunks" in logs
        info = client.get_job_info(job_id)
        metadata = info.metadata
        assert metadata["pipeline"] == "curate_cc" and len(metadata["git_commit"]) == 40
        assert metadata["config_sha256"] == hashlib.sha256((ROOT / "configs" / "curate_cc.yaml").read_bytes()).hexdigest()
        assert job_id in {job.submission_id for job in client.list_jobs()}
        # The job's Ray Data datasets and operators, as the job page's "Ray Data Overview" lists them.
        with urllib.request.urlopen(f"{cluster.dashboard_url}/api/data/datasets/{info.job_id}", timeout=30) as response:
            datasets = json.loads(response.read())["datasets"]
        operators = " ".join(op["name"] for dataset in datasets for op in dataset["operators"])
        assert "MapBatches(WarcReader)" in operators and "MapBatches(QualityFilter)" in operators
        assert (out / "report.html").is_file()

        stats = json.loads((out / "stats.json").read_text())
        assert_invariant(stats)
        assert [op["name"] for op in stats["operators"]] == ["warc_reader", "url_filter", "extract", "langid", "quality"]
        assert {"en", "ru", "pt", "ja"} <= set(stats["kept_per_language"])

        # The same counts, live in Ray metrics (what the dashboard's Metrics view and Grafana show).
        expected = _expected_counts(stats)
        deadline = time.time() + 60
        while (found := _scraped_counts(cluster.metrics_port)) != expected and time.time() < deadline:
            time.sleep(3)
        assert found == expected

        # Global dedup on the curated output: its tasks return their counts, and the driver publishes
        # each stage's totals when the stage has finished.
        dedup_out = tmp_path / "dedup"
        job_id = submit(cluster.dashboard_url, ["python", "pipelines/dedup.py", "--input", str(out),
                                                "--output", str(dedup_out)])
        status = wait(cluster.dashboard_url, job_id, timeout=600)
        assert status == "SUCCEEDED", client.get_job_logs(job_id)[-3000:]
        expected = _expected_counts(json.loads((dedup_out / "stats.json").read_text()))
        assert {key[1] for key in expected} == {"minhash", "substring"}
        deadline = time.time() + 60
        while (found := _scraped_counts(cluster.metrics_port, "dedup")) != expected and time.time() < deadline:
            time.sleep(3)
        assert found == expected

        # The parallel-data pipeline on NTREX-128 en-de (Moses files) publishes the same way.
        ntrex = shared_path("ntrex128")
        for name, lang in (("eng_Latn", "en"), ("deu_Latn", "de")):
            lines = (ntrex / f"{name}.txt").read_text(encoding="utf-8").splitlines()[:300]
            (tmp_path / f"news.{lang}").write_text("\n".join(lines + lines[:30]) + "\n", encoding="utf-8")
        parallel_out = tmp_path / "parallel"
        job_id = submit(cluster.dashboard_url, ["python", "pipelines/curate_parallel.py", "--src", "en", "--tgt", "de",
                                                "--input", str(tmp_path / "news"), "--output", str(parallel_out)])
        status = wait(cluster.dashboard_url, job_id, timeout=600)
        assert status == "SUCCEEDED", client.get_job_logs(job_id)[-3000:]
        expected = _expected_counts(json.loads((parallel_out / "stats.json").read_text()))
        assert ("dropped", "pair_dedup", "dup:pair") in expected
        deadline = time.time() + 60
        while (found := _scraped_counts(cluster.metrics_port, "curate_parallel")) != expected and \
                time.time() < deadline:
            time.sleep(3)
        assert found == expected

        # A relative --output: a plain `ray job submit --working-dir .` job refuses it (it would be written into
        # Ray's temporary copy of the working dir); submit_job.py resolves it against the directory it runs in.
        from pipelines.tools.demo_warc import build_demo_warc

        warc = build_demo_warc(str(tmp_path / "demo.warc.gz"))
        relative = ["python", "pipelines/curate_cc.py", "--input", warc, "--output", "walk_rel_out"]
        job_id = client.submit_job(entrypoint=" ".join(relative), runtime_env={"working_dir": str(ROOT)})
        assert wait(cluster.dashboard_url, job_id, timeout=300) == "FAILED"
        assert "--output walk_rel_out: a relative path in a job submitted with a working dir" in \
            client.get_job_logs(job_id)
        here = os.getcwd()
        os.chdir(tmp_path)
        try:
            job_id = submit(cluster.dashboard_url, relative)
        finally:
            os.chdir(here)
        assert wait(cluster.dashboard_url, job_id, timeout=300) == "SUCCEEDED", client.get_job_logs(job_id)[-3000:]
        assert (tmp_path / "walk_rel_out" / "stats.json").is_file()
    finally:
        cluster.stop()
    assert not _pids_using(cluster.temp_dir)
