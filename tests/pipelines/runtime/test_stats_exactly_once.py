"""Counts reported twice for the same batch (a retried Ray task) are counted once, in stats and metrics."""

import pyarrow as pa

from operators.runner import batch_key
from operators.stats import PipelineStats
from pipelines.runtime.ray_stats import StatsCollector


def test_batch_keys_name_the_operator_and_the_documents():
    batch = pa.table({"id": ["<urn:uuid:1>", "<urn:uuid:2>"], "text": ["a", "b"]})
    assert batch_key("quality", batch) == batch_key("quality", pa.table({"id": ["<urn:uuid:1>", "<urn:uuid:2>"],
                                                                         "text": ["x", "y"]}))
    assert batch_key("quality", batch) != batch_key("langid", batch)
    assert batch_key("quality", batch) != batch_key("quality", batch.slice(0, 1))
    assert batch_key("quality", batch) != batch_key("quality", pa.table({"id": ["<urn:uuid:1>", "<urn:uuid:3>"]}))
    # ids whose concatenations coincide still differ
    assert batch_key("q", pa.table({"id": ["ab", "c"]})) != batch_key("q", pa.table({"id": ["a", "bc"]}))


def test_batch_keys_tell_copies_of_one_archive_apart():
    """The same records read from two files carry the same ids; their sources (file:offset) differ."""
    ids = ["<urn:uuid:1>", "<urn:uuid:2>"]
    first = pa.table({"id": ids, "source": ["a.warc.gz:0", "a.warc.gz:913"]})
    copy = pa.table({"id": ids, "source": ["b.warc.gz:0", "b.warc.gz:913"]})
    assert batch_key("url_filter", first) != batch_key("url_filter", copy)
    assert batch_key("url_filter", first) == batch_key("url_filter", first.select(["source", "id"]))


def test_collector_counts_each_key_once_per_chunk():
    collector = StatsCollector()
    report = ("quality", 10, 7, {"quality:short": 3}, {"en": (10, 7, {"quality:short": 3})}, None)
    assert collector.add("chunk-1", *report, key="quality:10:ab") is True
    assert collector.add("chunk-1", *report, key="quality:10:ab") is False  # the retry's report
    assert collector.add("chunk-1", *report, key="quality:10:cd") is True
    assert collector.add("chunk-2", *report, key="quality:10:ab") is True   # another chunk: its own keys
    stats = collector.pop("chunk-1")
    (quality,) = stats["operators"]
    assert (quality["docs_in"], quality["docs_out"], quality["dropped"]) == (20, 14, {"quality:short": 6})
    assert collector.duplicate_reports() == 1


class _Recorded:
    def __init__(self):
        self.calls = []

    def inc(self, value, tags):
        self.calls.append((value, tags))


def test_metrics_split_by_language_sum_to_the_operator_counts(monkeypatch):
    import pipelines.runtime.ray_stats as ray_stats

    counters = {}
    monkeypatch.setattr(ray_stats, "_counter", lambda name, description, tags: counters.setdefault(name, _Recorded()))
    ray_stats.export_counts("curate_cc", "langid", 10, 6, {"langid:low_score": 3, "langid:not_target": 1},
                            {"en": (5, 4, {"langid:low_score": 1}), "zh": (3, 2, {"langid:low_score": 1})},
                            {"job_id": "02000000", "submission_id": "curate_cc-20261207-101500"})
    totals = {name: sum(v for v, _ in c.calls) for name, c in counters.items()}
    assert totals == {"curation_docs_in": 10, "curation_docs_out": 6, "curation_docs_dropped": 4}
    assert {(t["job_id"], t["submission_id"]) for c in counters.values() for _, t in c.calls} == {
        ("02000000", "curate_cc-20261207-101500")}
    unlabelled = [(v, t["reason"]) for v, t in counters["curation_docs_dropped"].calls if t["lang"] == ""]
    assert sorted(unlabelled) == [(1, "langid:low_score"), (1, "langid:not_target")]
    assert {t["lang"] for _, t in counters["curation_docs_in"].calls} == {"", "en", "zh"}


def test_driver_publishes_a_finished_stage_once_per_job(monkeypatch, tmp_path):
    """One job publishes a finished stage's counts once; a rerun is another job, whose metrics hold the counts
    its own stats.json will (the stage read back from the work folder included), under its own job label."""
    import pipelines.runtime.ray_stats as ray_stats

    counters = {}
    monkeypatch.setattr(ray_stats, "_counter", lambda name, description, tags: counters.setdefault(name, _Recorded()))
    stats = PipelineStats()
    stats.add("minhash", 10, 7, {"dup:minhash": 3},
              {"en": (6, 4, {"dup:minhash": 2}), "de": (4, 3, {"dup:minhash": 1})})
    for job in ("01000000", "01000000", "02000000"):
        monkeypatch.setattr(ray_stats, "job_labels", lambda job=job: {"job_id": job, "submission_id": ""})
        ray_stats.publish_stats("dedup", stats, ["minhash"], str(tmp_path / "_work"))
    for job in ("01000000", "02000000"):
        totals = {name: sum(v for v, t in c.calls if t["job_id"] == job) for name, c in counters.items()}
        assert totals == {"curation_docs_in": 10, "curation_docs_out": 7, "curation_docs_dropped": 3}
    assert {t["pipeline"] for c in counters.values() for _, t in c.calls} == {"dedup"}
