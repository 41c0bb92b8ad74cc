"""A worker node lost whole in the middle of a job (a spot instance taken back) does not change the job's output.

The cluster is a head node and two worker nodes on this machine (``ray start --address``, each with its own temp
dir, ports, one CPU and its own object store: tests/fixtures/local_ray_cluster.py). In the middle of every job a
worker node running one of its stages' tasks is SIGKILLed whole (raylet and workers) and a fresh one joins
(tests/fixtures/node_loss.py). Every job must finish on its own, with the output and statistics of a clean
in-process run: same documents, same ids, every count once.

Covered: curate_cc (the statistics actor, which also holds the metrics counters, lives on the head node, so the
loss never takes it along: stats.json and the metrics totals both count every document once), every stage
of dedup (signatures, bands, connected components, the substring stage's suffix arrays), tokenize_shards,
curate_parallel with LASER's similarity filter, and curate_sft. Where Ray itself cannot go on (the head node,
with the cluster's control store, lost), the driver stops with an error and a rerun on a new cluster resumes to
the identical output.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.fixtures.curated_output import assert_same_curation, documents_by_language, read_stats
from tests.fixtures.curation_metrics import expected_counts, scraped_counts, wait_for
from tests.fixtures.local_ray_cluster import LocalRayCluster, _pids_using
from tests.fixtures.node_loss import run_killing_nodes
from tests.fixtures.shared_data import REPO_ROOT as ROOT
from tests.fixtures.shared_data import shared_path

pytestmark = pytest.mark.slow


def command(script: str, *args: str) -> list:
    return [sys.executable, str(ROOT / "pipelines" / script), *args]


@pytest.fixture(scope="module")
def cluster():
    """A head without CPUs (every task runs on a worker node) and two worker nodes of one CPU each; each test
    leaves two worker nodes behind."""
    shared_path("warc")
    cluster = LocalRayCluster(num_cpus=0, dashboard=False, object_store_bytes=300 * 1024 * 1024).start()
    try:
        cluster.add_worker()
        cluster.add_worker()
        yield cluster
    finally:
        cluster.stop()
    assert not _pids_using(cluster.temp_dir)


def warc_inputs() -> list:
    return [str(shared_path("warc")) + "/*"]


@pytest.fixture(scope="module")
def curation_config(tmp_path_factory):
    """The default config with decontamination against FLORES-200 dev: every node, the replacement too, builds or
    maps the benchmark index before its first document."""
    path = tmp_path_factory.mktemp("config") / "curate.yaml"
    path.write_text(f"decontamination:\n  benchmarks:\n    - name: flores\n      path: {shared_path('flores200_dev')}\n"
                    "      format: flores\n      split: dev\n")
    return str(path)


@pytest.fixture(scope="module")
def clean_curation(tmp_path_factory, curation_config):
    from pipelines.web.config import load_config
    from pipelines.web.curate import curate

    out = tmp_path_factory.mktemp("clean-curation")
    config = load_config(curation_config)
    config.output.chunk_files = 3
    curate(config, warc_inputs(), str(out), in_process=True)
    return out


def test_curate_cc_survives_a_lost_worker_node(cluster, clean_curation, curation_config, tmp_path):
    out = tmp_path / "out"
    run = run_killing_nodes(cluster, command("curate_cc.py", "--input", *warc_inputs(), "--output", str(out),
                                             "--chunk-files", "3", "--config", curation_config), ["WarcReader"],
                            after_output="progress: 1/")   # the node lost has counted documents of chunk 1
    assert run.returncode == 0, run.output[-4000:]
    assert run.killed == ["WarcReader"]
    assert_same_curation(out, clean_curation)
    stats = read_stats(str(out))
    assert "against flores" in stats["details"]["decontamination"]
    # The metrics counters, over every node left in the cluster (what Prometheus scrapes at the end): each
    # count once, the lost node's share included.
    expected = expected_counts(stats)
    assert wait_for(lambda: scraped_counts(cluster.metrics_ports(), "curate_cc"), expected) == expected


@pytest.fixture(scope="module")
def documents_corpus(tmp_path_factory):
    """Curated-style shards of real text with planted near-duplicates (tests/fixtures/planted_duplicates.py):
    twelve languages, two files each, so every dedup stage has several tasks."""
    from tests.fixtures.planted_duplicates import write_planted_shards

    root = tmp_path_factory.mktemp("documents")
    write_planted_shards(root, ("en", "de", "fr", "es", "ru", "zh", "ja", "ar", "pt", "it", "ko", "th"), files=2)
    return root


def test_dedup_survives_a_lost_worker_node_in_every_stage(cluster, documents_corpus, tmp_path):
    from pipelines.global_dedup.dedup import DedupConfig, dedup

    clean = tmp_path / "clean"
    dedup(DedupConfig(partitions=3), str(documents_corpus), str(clean), in_process=True)
    config = tmp_path / "dedup.yaml"
    config.write_text("partitions: 3\n")
    out = tmp_path / "out"
    stages = ["signatures", "buckets", "large_star", "find"]
    run = run_killing_nodes(cluster, command("dedup.py", "--input", str(documents_corpus), "--output", str(out),
                                             "--config", str(config)), stages, busy_seconds=0.0)
    assert run.returncode == 0, run.output[-4000:]
    assert run.killed == stages
    assert documents_by_language(str(out)) == documents_by_language(str(clean))
    assert read_stats(str(out)) == read_stats(str(clean))


def test_tokenize_shards_survives_a_lost_worker_node(cluster, documents_corpus, tmp_path):
    from pipelines.mixture.tokenize_shards import tokenize_shards

    clean = tmp_path / "clean"
    tokenize_shards(str(documents_corpus), str(clean), in_process=True)
    out = tmp_path / "out"
    run = run_killing_nodes(cluster, command("tokenize_shards.py", "--input", str(documents_corpus),
                                             "--output", str(out)), ["tokenize"], busy_seconds=0.0)
    assert run.returncode == 0, run.output[-4000:]
    assert run.killed == ["tokenize"]
    def files(folder):   # not the command's lock file (.run.lock), which the in-process call does not take
        return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))

    expected = files(clean)
    assert files(out) == expected
    for path in expected:
        if path.suffix in (".bin", ".idx"):
            assert (out / path).read_bytes() == (clean / path).read_bytes(), path
    assert read_stats(str(out)) == read_stats(str(clean))


def ntrex(name: str, count: int) -> list:
    with open(shared_path("ntrex128") / name, encoding="utf-8") as handle:
        return [line.rstrip("\n") for _, line in zip(range(count), handle)]


def test_curate_parallel_with_laser_survives_a_lost_worker_node(cluster, tmp_path):
    from pipelines.parallel.config import load_config
    from pipelines.parallel.curate import curate_parallel
    from tests.fixtures.tiny_laser import build_tiny_laser

    english, german = ntrex("eng_Latn.txt", 600), ntrex("deu_Latn.txt", 600)
    inputs = []
    for part in range(6):
        prefix = tmp_path / "corpus" / f"news{part}"
        prefix.parent.mkdir(exist_ok=True)
        lines = slice(part * 100, (part + 1) * 100)
        Path(f"{prefix}.en").write_text("\n".join(english[lines]) + "\n", encoding="utf-8")
        Path(f"{prefix}.de").write_text("\n".join(german[lines]) + "\n", encoding="utf-8")
        inputs.append(str(prefix))
    laser = build_tiny_laser(str(tmp_path / "laser"), english + german)
    settings = tmp_path / "parallel.yaml"
    settings.write_text("similarity:\n  batch_size: 40\n  min_margin: 1.0\n")
    clean = tmp_path / "clean"
    curate_parallel(load_config(str(settings), src="en", tgt="de", laser_dir=laser), inputs, str(clean),
                    in_process=True)
    out = tmp_path / "out"
    run = run_killing_nodes(cluster, command("curate_parallel.py", "--input", *inputs, "--src", "en", "--tgt", "de",
                                             "--output", str(out), "--laser-dir", laser, "--config", str(settings)),
                            ["filter"], busy_seconds=0.0)
    assert run.returncode == 0, run.output[-4000:]
    assert run.killed == ["filter"]
    for path in sorted(clean.glob("en-de/*.parquet")):
        assert pq.read_table(out / path.relative_to(clean)).equals(pq.read_table(path)), path
    assert read_stats(str(out)) == read_stats(str(clean))


def test_curate_sft_survives_a_lost_worker_node(cluster, tmp_path):
    from pipelines.sft.curate import curate_sft
    from pipelines.sft.curation_config import load_sft_config

    english, german = ntrex("eng_Latn.txt", 480), ntrex("deu_Latn.txt", 480)
    folder = tmp_path / "sft"
    folder.mkdir()
    for part in range(6):
        records = [{"instruction": "Translate into German.", "input": english[i], "output": german[i], "lang": "en"}
                   for i in range(part * 80, (part + 1) * 80)]
        (folder / f"part-{part}.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records),
                                                   encoding="utf-8")
    settings = str(ROOT / "configs" / "sft.yaml")
    clean = tmp_path / "clean"
    curate_sft(load_sft_config(settings), [str(folder)], str(clean), in_process=True)
    out = tmp_path / "out"
    run = run_killing_nodes(cluster, command("curate_sft.py", "--input", str(folder), "--output", str(out),
                                             "--config", settings), ["clean_sft"], busy_seconds=0.0)
    assert run.returncode == 0, run.output[-4000:]
    assert run.killed == ["clean_sft"]
    assert (out / "sft.jsonl").read_text() == (clean / "sft.jsonl").read_text()
    assert read_stats(str(out)) == read_stats(str(clean))


def test_head_node_lost_stops_the_job_and_a_rerun_resumes(clean_curation, curation_config, tmp_path):
    """Without its head node (the control store) a cluster is gone: the driver must stop, not hang, and the
    same command on a new cluster finishes the job with the clean run's output."""
    out = tmp_path / "out"
    args = command("curate_cc.py", "--input", *warc_inputs(), "--output", str(out), "--chunk-files", "3",
                   "--config", curation_config)
    first = LocalRayCluster(num_cpus=2, dashboard=False).start()
    try:
        # The driver gives the lost control store 15 s to come back (Ray's default is 60 s).
        env = dict(first.env, RAY_ADDRESS=first.address, RAY_gcs_rpc_server_reconnect_timeout_s="15")
        driver = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        deadline = time.time() + 300
        while time.time() < deadline and not list(out.glob("_chunks/*/_SUCCESS")):
            assert driver.poll() is None, "the driver ended before any chunk finished"
            time.sleep(0.05)
        for pid in _pids_using(first.temp_dir):
            os.kill(pid, signal.SIGKILL)
        code = driver.wait(timeout=120)   # stops on its own: no hang
        assert code != 0
        assert not (out / "stats.json").exists()
    finally:
        if driver.poll() is None:
            driver.kill()
        first.stop()
    second = LocalRayCluster(num_cpus=2, dashboard=False).start()
    try:
        rerun = subprocess.run(args, env=dict(second.env, RAY_ADDRESS=second.address), capture_output=True,
                               text=True, timeout=600)
    finally:
        second.stop()
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "already done" in rerun.stderr
    assert_same_curation(out, clean_curation)
