"""Load, short mode: curate_cc over 4 copies of the shared WARCs (52 files, 52 chunks, about 900 documents out of
the reader) on an embedded 2-CPU Ray, every process's memory sampled (bench/load.py; its long mode runs 446
copies, about 100,000 documents). After warm-up (a quarter of the chunks) no process grows by more than a
bounded amount (Ray's own services included), the driver's memory does not follow the number of chunks, nothing
is spilled, and the run's output counts every record once."""

from __future__ import annotations

import pytest

from bench.load import run_load
from tests.fixtures.shared_data import shared_path

pytestmark = pytest.mark.slow

# After warm-up. A worker loads its models (language ID, extraction, quality word lists) on first use: a worker
# that starts late warms up late, hence the wider bound for workers.
DRIVER_GROWTH_MB = 40
WORKER_GROWTH_MB = 150
# Ray's own services. Without pipelines/runtime/ray_session.py's EMBEDDED_SYSTEM_CONFIG, Ray Data's statistics
# actor and the metrics agent each grow about 0.6 MB per chunk (one dataset each): 25 MB over this run's
# chunks after warm-up.
RAY_SERVICE_GROWTH_MB = 12
RAY_SERVICES = ("actor _StatsActor", "actor DashboardAgent", "gcs_server", "raylet")


def test_memory_stays_flat_over_a_run_of_many_chunks(tmp_path):
    shared_path("warc")
    summary = run_load(copies=4, chunk_files=1, out=tmp_path / "load", interval=0.5)
    assert summary["exit_code"] == 0
    stats = summary["stats"]
    reader = stats["operators"][0]
    assert reader["docs_out"] == summary["documents"]   # every copy's documents, once
    assert summary["spilled_mb"] == 0
    growth = summary["growth_after_warmup_mb"]
    assert growth["driver"] < DRIVER_GROWTH_MB, summary
    assert growth.get("ray worker", 0) < WORKER_GROWTH_MB, summary
    assert growth.get("actor StatsCollector", 0) < 20, summary   # it pops each chunk's counts
    for service in RAY_SERVICES:
        assert growth.get(service, 0) < RAY_SERVICE_GROWTH_MB, (service, summary)
    assert (tmp_path / "load" / "rss.svg").read_text().startswith("<svg")
    print(f"\nload, short mode: {summary['chunks']} chunks in {summary['seconds']} s; peak RSS (MB) "
          f"{summary['peak_rss_mb']}; growth after warm-up (MB) {growth}; driver {summary['driver_kb_per_chunk']} "
          "KB per chunk")
