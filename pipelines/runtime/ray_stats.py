"""Statistics from Ray workers: an exact aggregator actor, mirrored into Ray metrics.

* :class:`StatsCollector` (a Ray actor, ``num_cpus=0``) sums counts per chunk; the driver pops a
  chunk's totals when the chunk's dataset has finished. Exact, and independent of Prometheus.
* :class:`RayStatsSink` is what the runners call on the workers: one small RPC per batch, plus Ray
  metrics counters ``curation_docs_in`` / ``curation_docs_out`` / ``curation_docs_dropped`` (tags
  ``pipeline``, ``operator``, ``lang``, and ``reason`` for drops) for the dashboard's Metrics view and
  Prometheus/Grafana (exported as ``ray_curation_docs_dropped_total``; one series per worker process:
  aggregate with ``sum by (operator, reason)``). ``lang`` is the document's language from language ID
  on, and empty before it.

* Samples and files travel the same way: a report's ``samples`` (per reason, the smallest few document ids or
  locations dropped for it) and a source's per-location ``files`` report go to the collector with the counts
  and come back in the chunk's ``to_dict()``, so ``stats.json`` and the driver's end-of-run warnings name
  unreadable or empty files that only a worker's log (in Ray's session folder) mentioned before. They are not
  metrics.

* :func:`publish_stats` is the driver's way for pipelines whose tasks return their counts (global
  dedup, parallel data): the same counters, one stage's totals at a time.

**Counted once, retries included.** Ray retries a task whose worker died, and the retry reports the
batches the failed attempt had already reported. Every report carries its batch's key
(:func:`operators.runner.batch_key`: the operator and the batch's document ids, or the file and the
batch's position in it for the reader). The pipeline is deterministic, so a retry forms the same
batches with the same keys; the collector keeps the first report of each key and tells the sink
whether the report was new, and the sink increments the metrics only for new reports. So stats.json
and the metric totals both equal the counts of a run without failures.
"""

from __future__ import annotations

import os
from collections import defaultdict
from typing import Dict, Optional, Sequence, Set

from operators.stats import PipelineStats

_COUNTERS = {}


def _counter(name: str, description: str, tags: tuple):
    if name not in _COUNTERS:
        from ray.util.metrics import Counter

        _COUNTERS[name] = Counter(name, description=description, tag_keys=tags)
    return _COUNTERS[name]


def export_counts(pipeline: str, name: str, docs_in: int, docs_out: int, dropped: dict, by_language: dict) -> None:
    """Adds one report's counts to the metrics counters, split by language (``""`` for the rest)."""
    parts = {}
    rest_in, rest_out, rest_dropped = docs_in, docs_out, dict(dropped)
    for lang, (lang_in, lang_out, lang_dropped) in by_language.items():
        parts[lang] = (lang_in, lang_out, lang_dropped)
        rest_in, rest_out = rest_in - lang_in, rest_out - lang_out
        for reason, count in lang_dropped.items():
            rest_dropped[reason] = rest_dropped.get(reason, 0) - count
    parts[""] = (rest_in, rest_out, rest_dropped)  # documents without a language yet
    docs_in_counter = _counter("curation_docs_in", "documents into an operator", ("pipeline", "operator", "lang"))
    docs_out_counter = _counter("curation_docs_out", "documents out of an operator",
                                ("pipeline", "operator", "lang"))
    dropped_counter = _counter("curation_docs_dropped", "documents dropped, by reason",
                               ("pipeline", "operator", "lang", "reason"))
    for lang, (part_in, part_out, part_dropped) in parts.items():
        tags = {"pipeline": pipeline, "operator": name, "lang": lang}
        if part_in > 0:
            docs_in_counter.inc(part_in, tags)
        if part_out > 0:
            docs_out_counter.inc(part_out, tags)
        for reason, count in part_dropped.items():
            if count > 0:
                dropped_counter.inc(count, {**tags, "reason": reason})


def publish_stats(pipeline: str, stats: PipelineStats, names: Sequence[str], work: str) -> None:
    """Driver side, for pipelines whose tasks return their counts (dedup, parallel data): mirrors the
    final counts of the operators ``names`` into the metrics when their stage has finished. A marker in
    ``work`` (written first) keeps a rerun that resumes after the stage from publishing them again."""
    for name in names:
        marker = os.path.join(work, f"metrics-{pipeline}-{name}.published")
        if os.path.exists(marker):
            continue
        os.makedirs(work, exist_ok=True)
        open(marker, "w").close()
        op = stats.operator(name)
        try:
            export_counts(pipeline, name, op.docs_in, op.docs_out, dict(op.dropped), op.language_counts())
        except Exception:  # metrics are a view; never fail the pipeline over them
            pass


class StatsCollector:
    def __init__(self) -> None:
        self._chunks: Dict[str, PipelineStats] = defaultdict(PipelineStats)
        self._seen: Dict[str, Set[str]] = defaultdict(set)
        self.duplicates = 0

    def add(self, chunk: str, name: str, docs_in: int, docs_out: int, dropped: dict, by_language=None,
            noted=None, key: Optional[str] = None, samples: Optional[dict] = None,
            files: Optional[dict] = None) -> bool:
        """Counts a batch's report unless its key was seen in this chunk; True when it was counted."""
        if key is not None:
            if key in self._seen[chunk]:
                self.duplicates += 1
                return False
            self._seen[chunk].add(key)
        self._chunks[chunk].add(name, docs_in, docs_out, dropped, by_language, noted, samples=samples, files=files)
        return True

    def pop(self, chunk: str) -> dict:
        self._seen.pop(chunk, None)
        return self._chunks.pop(chunk, PipelineStats()).to_dict()

    def duplicate_reports(self) -> int:
        return self.duplicates


class RayStatsSink:
    def __init__(self, collector, chunk: str, pipeline: str) -> None:
        self.collector = collector
        self.chunk = chunk
        self.pipeline = pipeline

    def add(self, name: str, docs_in: int, docs_out: int, dropped: dict, by_language=None, noted=None,
            key: Optional[str] = None, samples: Optional[dict] = None, files: Optional[dict] = None) -> None:
        import ray

        counted = ray.get(self.collector.add.remote(self.chunk, name, docs_in, docs_out, dropped, by_language,
                                                    noted, key, samples=samples, files=files))
        if not counted:
            return
        try:
            export_counts(self.pipeline, name, docs_in, docs_out, dropped, by_language or {})
        except Exception:  # metrics are a view; never fail the pipeline over them
            pass

