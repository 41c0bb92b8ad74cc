"""Statistics from Ray workers: an exact aggregator actor, mirrored into Ray metrics.

* :class:`StatsCollector` (a Ray actor, ``num_cpus=0``) sums counts per chunk; the driver pops a
  chunk's totals when the chunk's dataset has finished. Exact, and independent of Prometheus.
* :class:`RayStatsSink` is what the runners call on the workers: one small RPC per batch, plus Ray
  metrics counters ``curation_docs_in`` / ``curation_docs_out`` / ``curation_docs_dropped`` (tags
  ``pipeline``, ``operator``, ``reason``) for the dashboard's Metrics view and Prometheus/Grafana
  (exported as ``ray_curation_docs_dropped_total``; sum over workers: one series per process).

A retried task re-reports its batches, so on failures these counts are at-least-once.
"""

from __future__ import annotations

from collections import defaultdict

from operators.stats import PipelineStats

_COUNTERS = {}


def _counter(name: str, description: str, tags: tuple):
    if name not in _COUNTERS:
        from ray.util.metrics import Counter

        _COUNTERS[name] = Counter(name, description=description, tag_keys=tags)
    return _COUNTERS[name]


class StatsCollector:
    def __init__(self) -> None:
        self._chunks = defaultdict(PipelineStats)

    def add(self, chunk: str, name: str, docs_in: int, docs_out: int, dropped: dict, by_language=None,
            noted=None) -> None:
        self._chunks[chunk].add(name, docs_in, docs_out, dropped, by_language, noted)

    def pop(self, chunk: str) -> dict:
        return self._chunks.pop(chunk, PipelineStats()).to_dict()


class RayStatsSink:
    def __init__(self, collector, chunk: str, pipeline: str) -> None:
        self.collector = collector
        self.chunk = chunk
        self.pipeline = pipeline

    def add(self, name: str, docs_in: int, docs_out: int, dropped: dict, by_language=None, noted=None) -> None:
        import ray

        ray.get(self.collector.add.remote(self.chunk, name, docs_in, docs_out, dropped, by_language, noted))
        try:
            self._metrics(name, docs_in, docs_out, dropped)
        except Exception:  # metrics are a view; never fail the pipeline over them
            pass

    def _metrics(self, name: str, docs_in: int, docs_out: int, dropped: dict) -> None:
        tags = {"pipeline": self.pipeline, "operator": name}
        if docs_in:
            _counter("curation_docs_in", "documents into an operator", ("pipeline", "operator")).inc(docs_in, tags)
        if docs_out:
            _counter("curation_docs_out", "documents out of an operator", ("pipeline", "operator")).inc(docs_out, tags)
        dropped_counter = _counter(
            "curation_docs_dropped", "documents dropped, by reason", ("pipeline", "operator", "reason")
        )
        for reason, count in dropped.items():
            if count:
                dropped_counter.inc(count, {**tags, "reason": reason})
