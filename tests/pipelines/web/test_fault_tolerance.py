"""Failures during a curation run on Ray leave the output and statistics of a clean run.

* A worker process killed (SIGKILL) while it runs the pipeline's tasks: Ray retries the task, the
  job completes, the documents are those of a clean run (same ids, no duplicates) and stats.json is
  equal, because the retried batches' counts are recognized by their keys (pipelines/runtime/ray_stats.py).
* The driver killed mid-run: a rerun skips the chunks that were committed and ends with the output and
  statistics of a clean run.

In both, the sampled dropped documents (``_drops/``) are those of the clean run too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipelines.web.config import load_config
from pipelines.web.curate import curate
from tests.fixtures.curated_output import assert_invariant, documents_by_language, read_stats
from tests.fixtures.local_ray_cluster import LocalRayCluster, _pids_using
from tests.fixtures.process_tree import children
from tests.fixtures.shared_data import REPO_ROOT as ROOT
from tests.fixtures.shared_data import shared_path

pytestmark = pytest.mark.slow

CHUNK_FILES = 3


def inputs():
    return [str(shared_path("warc")) + "/*"]


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("clean")
    config = load_config(None)
    config.output.chunk_files = CHUNK_FILES
    curate(config, inputs(), str(out), in_process=True)
    return out


def assert_same_output(out: Path, reference: Path) -> None:
    docs, expected = documents_by_language(str(out)), documents_by_language(str(reference))
    assert docs.keys() == expected.keys()
    for lang in expected:
        ids = [doc_id for doc_id, _ in docs[lang]]
        assert len(ids) == len(set(ids)), f"{lang}: duplicate documents"
        assert docs[lang] == expected[lang], lang
    stats, expected_stats = read_stats(str(out)), read_stats(str(reference))
    assert stats == expected_stats
    assert_invariant(stats)
    # The sampled dropped documents too: a retried task's candidates are counted once, like its counts.
    import pyarrow.parquet as pq

    drops = pq.read_table(out / "_drops" / "drops.parquet")
    assert drops.num_rows and drops.equals(pq.read_table(reference / "_drops" / "drops.parquet"))


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="ignore")
    except OSError:
        return ""


def test_worker_killed_mid_task_leaves_the_clean_output(ray_local, clean_run, tmp_path):
    raylet = ray_local.get(ray_local.remote(lambda: os.getppid()).remote())  # workers are the raylet's children
    killed = []
    stop = threading.Event()

    def kill_a_busy_worker():
        seen = {}
        while not stop.is_set() and not killed:
            for pid in children(raylet):
                if _cmdline(pid).startswith("ray::MapBatches(WarcReader)"):
                    seen.setdefault(pid, time.time())
                    if time.time() - seen[pid] > 1.0:  # busy for a second: mid-task, reports sent
                        os.kill(pid, signal.SIGKILL)
                        killed.append(pid)
                        return
            time.sleep(0.05)

    watcher = threading.Thread(target=kill_a_busy_worker, daemon=True)
    watcher.start()
    config = load_config(None)
    config.output.chunk_files = CHUNK_FILES
    try:
        curate(config, inputs(), str(tmp_path / "out"))
    finally:
        stop.set()
        watcher.join(timeout=5)
    assert killed, "no worker was busy long enough to be killed"
    assert_same_output(tmp_path / "out", clean_run)


def test_driver_killed_then_rerun_skips_finished_chunks(clean_run, tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, str(ROOT / "pipelines" / "curate_cc.py"), "--input", *inputs(), "--output", str(out),
               "--chunk-files", str(CHUNK_FILES)]
    cluster = LocalRayCluster(num_cpus=2).start()
    try:
        env = dict(cluster.env, RAY_ADDRESS=f"127.0.0.1:{cluster.gcs_port}")
        driver = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        deadline = time.time() + 300
        while time.time() < deadline and not list(out.glob("_chunks/*/_SUCCESS")):
            assert driver.poll() is None, "the driver ended before any chunk finished"
            time.sleep(0.1)
        driver.kill()
        driver.wait()
        finished = len(list(out.glob("_chunks/*/_SUCCESS")))
        assert finished >= 1 and not (out / "stats.json").exists()

        rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        assert f"chunks; {finished} already done" in rerun.stderr
    finally:
        cluster.stop()
    assert not _pids_using(cluster.temp_dir)
    assert_same_output(out, clean_run)
