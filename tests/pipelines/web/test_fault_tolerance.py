"""Failures during a curation run on Ray leave the output and statistics of a clean run.

* A worker process killed (SIGKILL) while it runs the pipeline's tasks: Ray retries the task, the
  job completes, the documents are those of a clean run (same ids, no duplicates) and stats.json is
  equal, because the retried batches' counts are recognized by their keys (pipelines/runtime/ray_stats.py).
* The driver killed mid-run: a rerun skips the chunks that were committed and ends with the output and
  statistics of a clean run.

In both, the sampled dropped documents (``_drops/``) are those of the clean run too.
"""

from __future__ import annotations

import logging
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
from tests.fixtures.curated_output import assert_same_curation
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
    assert_same_curation(tmp_path / "out", clean_run)


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
    assert_same_curation(out, clean_run)


def test_statistics_actor_killed_mid_chunk_is_restarted_and_the_chunk_redone(ray_local, clean_run, tmp_path, caplog):
    """The counts of the chunks in flight die with the actor's process: Ray restarts it and the driver redoes
    those chunks (their incarnation changed), so stats.json still counts every document once."""
    raylet = ray_local.get(ray_local.remote(lambda: os.getppid()).remote())  # workers and actors: its children
    killed = []
    stop = threading.Event()

    def kill_the_actor_mid_chunk():
        # A reader task busy for a while means a chunk is between begin_chunk and pop_chunk, with reports sent.
        # Every StatsCollector process is killed: one left by an earlier test in this session may be among them.
        reading_since = None
        while not stop.is_set() and not killed:
            titles = {pid: _cmdline(pid) for pid in children(raylet)}
            reading = any(title.startswith("ray::MapBatches(WarcReader)") for title in titles.values())
            actors = [pid for pid, title in titles.items() if title.startswith("ray::StatsCollector")]
            reading_since = (reading_since or time.time()) if reading else None
            if reading_since and time.time() - reading_since > 0.3 and actors:
                for pid in actors:
                    os.kill(pid, signal.SIGKILL)
                killed.extend(actors)
                return
            time.sleep(0.02)

    watcher = threading.Thread(target=kill_the_actor_mid_chunk, daemon=True)
    watcher.start()
    config = load_config(None)
    config.output.chunk_files = CHUNK_FILES
    logging.getLogger("curate_cc").disabled = False   # a logging.config call elsewhere in the session may disable it
    try:
        with caplog.at_level("WARNING", logger="curate_cc"):
            curate(config, inputs(), str(tmp_path / "out"))
    finally:
        stop.set()
        watcher.join(timeout=5)
    assert killed, "the statistics actor was never seen while a chunk ran"
    assert "the statistics actor restarted while the chunk ran; redoing it" in caplog.text
    assert_same_curation(tmp_path / "out", clean_run)
