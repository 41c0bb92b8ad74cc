"""The statistics a driver logs as it goes (pipelines/runtime/running_stats.py), read back from a job's log."""

from __future__ import annotations

from operators.stats import PipelineStats
from pipelines.runtime.running_stats import last_running_stats, running_stats_line


def _stats(kept: int) -> PipelineStats:
    stats = PipelineStats(["warc_reader", "quality"])
    stats.add("warc_reader", 10, 8, {"not_html": 2}, samples={"not_html": ["a.warc.gz:0", "a.warc.gz:9"]})
    stats.add("quality", 8, kept, {"quality:min_words": 8 - kept}, {"en": (8, kept, {"quality:min_words": 8 - kept})})
    stats.add_kept({"en": kept})
    return stats


def test_the_last_whole_line_of_a_log_is_read_back_without_samples():
    log = "\n".join([
        "2026-12-07 10:00:01 curate_cc INFO progress: 1/2 chunks ...",
        "2026-12-07 10:00:01 curate_cc INFO " + running_stats_line(_stats(5), 1, 2),
        "2026-12-07 10:00:09 curate_cc INFO " + running_stats_line(_stats(6), 2, 2),
        "operator ... (a table)",
        "2026-12-07 10:00:10 curate_cc INFO " + running_stats_line(_stats(6), final=True)[:-40],  # cut short
    ])
    running = last_running_stats(log)
    assert (running.chunks, running.total_chunks, running.final) == (2, 2, False)
    assert running.stats.table() == _stats(6).table()
    assert running.stats.operator("warc_reader").samples == {}
    assert running.heading() == "statistics so far (2 of 2 chunks of this run done)"
    final = last_running_stats(log[: log.rindex("\n")] + "\nx INFO " + running_stats_line(_stats(6), final=True))
    assert final.final and final.heading() == "final statistics"


def test_a_log_without_statistics_gives_none():
    assert last_running_stats("") is None
    assert last_running_stats("running statistics {not json}\nrunning statistics ") is None
