"""Samples and per-file counts come from Ray workers to the driver: RayStatsSink -> StatsCollector -> pop, equal
to the in-process run's statistics."""

from __future__ import annotations

import gzip

from operators.stats import PipelineStats
from operators.web.url_filter import UrlFilter, UrlFilterConfig
from operators.web.warc_reader import WarcReader, WarcReaderConfig
from pipelines.runtime.executor import InProcessExecutor, RayDataExecutor, StepList
from tests.fixtures.shared_data import shared_path


def test_samples_and_files_travel_through_the_ray_stats_path(ray_local, tmp_path):
    from pipelines.runtime.ray_stats import RayStatsSink, StatsCollector

    empty, notes = tmp_path / "empty.warc.gz", tmp_path / "notes.txt"
    empty.write_bytes(gzip.compress(b""))
    notes.write_text("not a WARC\n")
    locations = [str(shared_path("warc", "CC-MAIN-2020-34_excerpt_resiliparse.warc.gz")),
                 str(shared_path("warc", "CC-MAIN-2024-22_whirlwind.warc.wat.gz")), str(empty), str(notes)]
    steps = StepList.of(WarcReader(WarcReaderConfig(batch_size=4)), UrlFilter(UrlFilterConfig()))

    local = PipelineStats(steps.names)
    InProcessExecutor().execute(steps, locations, local, lambda table: table)

    collector = ray_local.remote(num_cpus=0)(StatsCollector).remote()
    sink = RayStatsSink(collector, "chunk-0", "test", {"job_id": "", "submission_id": ""})
    RayDataExecutor().execute(steps, locations, sink, lambda table: table)
    remote = PipelineStats(steps.names).merge(PipelineStats.from_dict(ray_local.get(collector.pop.remote("chunk-0"))))

    assert remote.to_dict() == local.to_dict()
    remote.check()
    reader = remote.operator("warc_reader")
    assert reader.samples["warc_empty"] == [str(empty)]
    assert reader.samples["warc_unreadable"] == [str(notes)]
    assert reader.files_dict() == {"read": 4, "without_documents": 3, "samples": sorted(locations[1:])}
    assert any(line.endswith(f"warc_unreadable x 1: {notes}") for line in remote.problem_lines())
