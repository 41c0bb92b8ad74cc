"""A job submitted to a private local head node (own temp dir, explicit dashboard and metrics-export
ports, stopped by process id) on the shared WARCs: it succeeds, carries its metadata, the dashboard
lists it and its Ray Data operators, and the Ray metrics scraped from the node equal stats.json for
every operator and reason; so do those of a global dedup job run on its output, of a parallel-data job and of
a second curation job, each under its own job label.

A real Prometheus (Debian's package, installed by ``make test``) scrapes the cluster through Ray's
service-discovery file; the head's dashboard is pointed at it (``RAY_PROMETHEUS_HOST``) and reports it
reachable, and every query of ``configs/grafana/curation_grafana_dashboard.json`` runs through Prometheus's
HTTP API, with its funnel, drop table and kept-per-language panels equal to each job's stats.json."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from tests.fixtures.curated_output import assert_invariant
from tests.fixtures.curation_metrics import expected_counts, scraped_counts, wait_for
from tests.fixtures.local_prometheus import LocalPrometheus, prometheus_available
from tests.fixtures.local_ray_cluster import LocalRayCluster, _pids_using
from tests.fixtures.shared_data import REPO_ROOT as ROOT
from tests.fixtures.shared_data import shared_path

pytestmark = pytest.mark.slow


DASHBOARD = ROOT / "configs" / "grafana" / "curation_grafana_dashboard.json"


def _dashboard_queries(pipeline: str, job_id: str, last_operator: str) -> dict:
    """Every PromQL expression of the Grafana dashboard (panels by title, variables by name), with its
    variables set to one job of one pipeline, all languages."""
    dashboard = json.loads(DASHBOARD.read_text())
    values = {"pipeline": pipeline, "job": job_id, "lang": ".*", "last_operator": last_operator}

    def bind(expr: str) -> str:
        for name, value in values.items():
            expr = expr.replace(f"${name}", value)
        assert "$" not in expr, expr
        return expr

    queries = {panel["title"]: bind(target["expr"]) for panel in dashboard["panels"] for target in panel["targets"]}
    queries.update({f"variable {v['name']}": bind(v["query"].split("(", 1)[1].rsplit(",", 1)[0])
                    for v in dashboard["templating"]["list"] if v["type"] == "query"})
    return queries


def _prometheus_view(prometheus: LocalPrometheus, pipeline: str, job_id: str, last_operator: str) -> dict:
    """What the dashboard's funnel, drop table and kept-per-language panels show for one job, in
    expected_counts' form plus ("kept", lang); every other query must evaluate."""
    view = {}
    for title, expr in _dashboard_queries(pipeline, job_id, last_operator).items():
        result = prometheus.query(expr)
        if title.startswith("Funnel"):
            view.update({("out", labels["operator"]): int(value) for labels, value in result if value})
        elif title.startswith("Drops by operator and reason"):
            view.update({("dropped", labels["operator"], labels["reason"]): int(value) for labels, value in result})
        elif title.startswith("Documents kept per language"):
            view.update({("kept", labels["lang"]): int(value) for labels, value in result if value})
    return view


def _expected_view(stats: dict, last_operator: str) -> dict:
    view = {key: n for key, n in expected_counts(stats).items() if key[0] != "in"}
    if any(op["name"] == last_operator for op in stats["operators"]):
        view.update({("kept", lang): n for lang, n in stats["kept_per_language"].items() if n})
    return view


def test_submitted_job_succeeds_and_its_metrics_equal_stats(tmp_path, capsys):
    import urllib.request

    from ray.job_submission import JobSubmissionClient

    from operators.stats import PipelineStats
    from pipelines.runtime.job_stats import main as job_stats_main
    from pipelines.runtime.running_stats import last_running_stats
    from pipelines.runtime.submit_job import main as submit_main
    from pipelines.runtime.submit_job import submit, wait

    warc_dir = shared_path("warc")
    out = tmp_path / "out"
    prometheus = LocalPrometheus() if prometheus_available() else None
    cluster = LocalRayCluster(num_cpus=2, prometheus_url=prometheus.url if prometheus else "").start()
    try:
        if prometheus:
            prometheus.start(cluster.temp_dir)
            with urllib.request.urlopen(f"{cluster.dashboard_url}/api/prometheus_health", timeout=30) as response:
                assert response.status == 200 and json.loads(response.read())["result"] is True

        def _scraped(pipeline: str, job) -> dict:
            return scraped_counts([cluster.metrics_port], pipeline, job.job_id, job.submission_id)

        def check_prometheus(pipeline: str, job, stats: dict, last_operator: str = "quality") -> None:
            if prometheus:
                expected = _expected_view(stats, last_operator)
                assert wait_for(lambda: _prometheus_view(prometheus, pipeline, job.job_id, last_operator),
                                 expected) == expected

        client = JobSubmissionClient(cluster.dashboard_url)
        entrypoint = ["python", "pipelines/curate_cc.py", "--config", "configs/curate_cc.yaml",
                      "--input", f"{warc_dir}/*", "--output", str(out), "--chunk-files", "5"]
        job_id = submit(cluster.dashboard_url, entrypoint)
        status = wait(cluster.dashboard_url, job_id, timeout=600)
        logs = client.get_job_logs(job_id)
        assert status == "SUCCEEDED", logs[-3000:]
        assert "per-operator statistics" in logs and "langid" in logs and "progress: 3/3 chunks" in logs
        info = curate_job = client.get_job_info(job_id)
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
        expected = curate_expected = expected_counts(stats)
        assert wait_for(lambda: _scraped("curate_cc", curate_job), expected) == expected
        check_prometheus("curate_cc", curate_job, stats)

        # Its table, from the dashboard's address alone: the final one, and the last per-chunk one before it.
        capsys.readouterr()
        assert job_stats_main(["--address", cluster.dashboard_url, job_id]) == 0
        printed = capsys.readouterr().out
        assert printed.startswith(f"{job_id}: SUCCEEDED (pipeline curate_cc, Ray job {curate_job.job_id})\n")
        assert f"final statistics:\n{PipelineStats.from_dict(stats).table()}" in printed
        per_chunk = last_running_stats(logs.split("per-operator statistics")[0])
        assert (per_chunk.chunks, per_chunk.total_chunks, per_chunk.final) == (3, 3, False)
        assert per_chunk.stats.table() == PipelineStats.from_dict(stats).table()

        # A rerun that resumes (one chunk lost its _SUCCESS, as after a driver died) is a job of its own: its
        # metrics hold its whole stats.json, the two chunks the first job committed included.
        (first_chunk,) = sorted((out / "_chunks").iterdir())[:1]
        (first_chunk / "_SUCCESS").unlink()
        job_id = submit(cluster.dashboard_url, entrypoint)
        assert wait(cluster.dashboard_url, job_id, timeout=600) == "SUCCEEDED", client.get_job_logs(job_id)[-3000:]
        assert "2 already done" in client.get_job_logs(job_id)
        assert json.loads((out / "stats.json").read_text()) == stats
        resumed_job = client.get_job_info(job_id)
        found = wait_for(lambda: _scraped("curate_cc", resumed_job), curate_expected)
        assert found == curate_expected

        # Global dedup on the curated output: its tasks return their counts, and the driver publishes
        # each stage's totals when the stage has finished.
        dedup_out = tmp_path / "dedup"
        job_id = submit(cluster.dashboard_url, ["python", "pipelines/dedup.py", "--input", str(out),
                                                "--output", str(dedup_out)])
        status = wait(cluster.dashboard_url, job_id, timeout=600)
        assert status == "SUCCEEDED", client.get_job_logs(job_id)[-3000:]
        dedup_stats = json.loads((dedup_out / "stats.json").read_text())
        expected = expected_counts(dedup_stats)
        assert {key[1] for key in expected} == {"minhash", "substring"}
        assert wait_for(lambda: _scraped("dedup", client.get_job_info(job_id)), expected) == expected
        check_prometheus("dedup", client.get_job_info(job_id), dedup_stats, "substring")

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
        parallel_stats = json.loads((parallel_out / "stats.json").read_text())
        expected = expected_counts(parallel_stats)
        assert ("dropped", "pair_dedup", "dup:pair") in expected
        assert wait_for(lambda: _scraped("curate_parallel", client.get_job_info(job_id)), expected) == expected
        check_prometheus("curate_parallel", client.get_job_info(job_id), parallel_stats)

        # A relative --output: a plain `ray job submit --working-dir .` job refuses it (it would be written into
        # Ray's temporary copy of the working dir); submit_job.py resolves it against the directory it runs in.
        from pipelines.tools.demo_warc import build_demo_warc

        warc = build_demo_warc(str(tmp_path / "demo.warc.gz"))
        relative = ["python", "pipelines/curate_cc.py", "--input", warc, "--output", "walk_rel_out"]
        job_id = client.submit_job(entrypoint=" ".join(relative), runtime_env={"working_dir": str(ROOT)})
        assert wait(cluster.dashboard_url, job_id, timeout=300) == "FAILED"
        assert "--output walk_rel_out: a relative path in a job submitted with a working dir" in \
            client.get_job_logs(job_id)
        # Submitted with the command and --wait, which prints the job's statistics as they come.
        here = os.getcwd()
        os.chdir(tmp_path)
        try:
            capsys.readouterr()
            code = submit_main(["--address", cluster.dashboard_url, "--wait", "--", *relative])
        finally:
            os.chdir(here)
        printed = capsys.readouterr().out
        job_id = printed.splitlines()[0]
        assert code == 0, client.get_job_logs(job_id)[-3000:]
        assert printed.rstrip().endswith(f"{job_id}: SUCCEEDED")
        second_stats = json.loads((tmp_path / "walk_rel_out" / "stats.json").read_text())
        table = PipelineStats.from_dict(second_stats).table()
        assert f"final statistics:\n{table}" in printed

        # A second curate_cc job on the same cluster: its metrics are its own stats.json, and the first job's are
        # still the first one's (before job labels, the reader's docs_in read the sum of both).
        second = expected_counts(second_stats)
        assert wait_for(lambda: _scraped("curate_cc", client.get_job_info(job_id)), second) == second
        assert _scraped("curate_cc", curate_job) == curate_expected
        check_prometheus("curate_cc", client.get_job_info(job_id), second_stats)
        check_prometheus("curate_cc", curate_job, stats)
    finally:
        if prometheus:
            prometheus.stop()
        cluster.stop()
    assert not _pids_using(cluster.temp_dir)
    if prometheus is None:
        pytest.skip("Debian's prometheus is not installed (make test installs it): its checks did not run")
