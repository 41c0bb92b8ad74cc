"""Statistics from Ray workers: an exact aggregator actor, mirrored into Ray metrics.

* :class:`StatsCollector` (a Ray actor, ``num_cpus=0``) sums counts per chunk; the driver pops a
  chunk's totals when the chunk's dataset has finished. Exact, and independent of Prometheus.
  :func:`start_collector` places it on the head node (whose loss ends the cluster anyway), so losing a worker
  node never takes it along, and lets Ray restart it if its process dies; the calls to it are retried across
  a restart. A restarted collector has lost the counts of the chunks in flight: each chunk starts with
  :meth:`StatsCollector.begin_chunk` and ends with :meth:`StatsCollector.pop_chunk`, both naming the collector's
  incarnation, and the driver redoes a chunk whose two differ (the committed chunks' counts are on disk).
* :class:`RayStatsSink` is what the runners call on the workers: one small RPC per batch to the collector, which
  counts the report and, when it is new, adds it to the Ray metrics counters ``curation_docs_in`` /
  ``curation_docs_out`` / ``curation_docs_dropped`` (tags ``pipeline``, ``job_id``, ``submission_id``,
  ``operator``, ``lang``, and ``reason`` for drops) for the dashboard's Metrics view and Prometheus/Grafana
  (exported as ``ray_curation_docs_dropped_total``; aggregate with ``sum by (operator, reason)``). The counters
  live in the collector's process on the head node, not in the workers: a worker node that is lost takes its
  metrics endpoint with it, and the batches Ray then retries elsewhere are not new reports, so counters kept on
  the workers would lose that node's share. (Should the collector's own process die, its counters go with it;
  the chunks it redoes are counted again by its successor, and stats.json stays exact.) ``lang`` is the document's language from language ID on, and empty
  before it. ``job_id`` is the Ray job id of the driver (hex, as ``ray list jobs`` shows it) and
  ``submission_id`` the Jobs API's submission id (empty for a driver started by hand), so two jobs on one cluster
  never add up: :func:`job_labels`.

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
batches with the same keys; the collector keeps the first report of each key and increments the metrics
only for new reports. So stats.json and the metric totals both equal the counts of a run without failures,
worker nodes lost included (tests/pipelines/runtime/test_node_loss.py).
"""

from __future__ import annotations

import json
import os
import uuid
from collections import defaultdict
from typing import Dict, Mapping, Optional, Sequence, Set

from operators.stats import PipelineStats

_COUNTERS = {}


def _counter(name: str, description: str, tags: tuple):
    if name not in _COUNTERS:
        from ray.util.metrics import Counter

        _COUNTERS[name] = Counter(name, description=description, tag_keys=tags)
    return _COUNTERS[name]


# Not ``job``: Prometheus gives every scraped series the label ``job`` (its scrape job), and renames a
# metric's own ``job`` label to ``exported_job``.
JOB_TAGS = ("job_id", "submission_id")
# Set by Ray's job supervisor in a submitted job's driver: the job's config, with the submission id in its metadata.
_JOB_CONFIG_ENV = "RAY_JOB_CONFIG_JSON_ENV_VAR"


def job_labels() -> Dict[str, str]:
    """The driver's job, as metric labels: ``job_id`` (Ray's job id, hex) and ``submission_id`` (the Jobs API's
    submission id, ``""`` where the driver was not submitted). Call it on the driver after ``ray.init``; the
    workers get the labels from it (a task knows its job id, but not the submission id)."""
    import ray

    submission = ""
    config = os.environ.get(_JOB_CONFIG_ENV)
    if config:
        try:
            submission = str((json.loads(config).get("metadata") or {}).get("job_submission_id") or "")
        except (ValueError, AttributeError):
            submission = ""
    return {"job_id": ray.get_runtime_context().get_job_id() if ray.is_initialized() else "",
            "submission_id": submission}


def export_counts(pipeline: str, name: str, docs_in: int, docs_out: int, dropped: dict, by_language: dict,
                  job: Mapping[str, str]) -> None:
    """Adds one report's counts to the metrics counters of ``job`` (:func:`job_labels`), split by language
    (``""`` for the rest)."""
    parts = {}
    rest_in, rest_out, rest_dropped = docs_in, docs_out, dict(dropped)
    for lang, (lang_in, lang_out, lang_dropped) in by_language.items():
        parts[lang] = (lang_in, lang_out, lang_dropped)
        rest_in, rest_out = rest_in - lang_in, rest_out - lang_out
        for reason, count in lang_dropped.items():
            rest_dropped[reason] = rest_dropped.get(reason, 0) - count
    parts[""] = (rest_in, rest_out, rest_dropped)  # documents without a language yet
    keys = ("pipeline",) + JOB_TAGS + ("operator", "lang")
    docs_in_counter = _counter("curation_docs_in", "documents into an operator", keys)
    docs_out_counter = _counter("curation_docs_out", "documents out of an operator", keys)
    dropped_counter = _counter("curation_docs_dropped", "documents dropped, by reason", keys + ("reason",))
    labels = {key: str(job.get(key, "")) for key in JOB_TAGS}
    for lang, (part_in, part_out, part_dropped) in parts.items():
        tags = {"pipeline": pipeline, **labels, "operator": name, "lang": lang}
        if part_in > 0:
            docs_in_counter.inc(part_in, tags)
        if part_out > 0:
            docs_out_counter.inc(part_out, tags)
        for reason, count in part_dropped.items():
            if count > 0:
                dropped_counter.inc(count, {**tags, "reason": reason})


def export_stats(pipeline: str, stats: PipelineStats, names: Sequence[str], job: Mapping[str, str]) -> None:
    """The counts of the operators ``names`` of ``stats`` into ``job``'s metrics (driver side)."""
    for name in names:
        op = stats.operator(name)
        try:
            export_counts(pipeline, name, op.docs_in, op.docs_out, dict(op.dropped), op.language_counts(), job)
        except Exception:  # metrics are a view; never fail the pipeline over them
            pass


def publish_stats(pipeline: str, stats: PipelineStats, names: Sequence[str], work: str) -> None:
    """Driver side, for pipelines whose tasks return their counts (dedup, parallel data): mirrors the
    final counts of the operators ``names`` into this job's metrics when their stage has finished. A marker
    in ``work`` (written first) keeps them from being published twice in one job; a rerun is another job and
    publishes the counts its own stats.json will hold, stages read back from ``work`` included."""
    job = job_labels()
    for name in names:
        marker = os.path.join(work, f"metrics-{pipeline}-{name}-{job['job_id']}.published")
        if os.path.exists(marker):
            continue
        os.makedirs(work, exist_ok=True)
        open(marker, "w").close()
        export_stats(pipeline, stats, [name], job)


class StatsCollector:
    def __init__(self) -> None:
        self._chunks: Dict[str, PipelineStats] = defaultdict(PipelineStats)
        self._seen: Dict[str, Set[str]] = defaultdict(set)
        self.duplicates = 0
        # New with every (re)start of the actor: a chunk that began in another incarnation lost its counts.
        self.incarnation = uuid.uuid4().hex

    def begin_chunk(self, chunk: str) -> str:
        """Forget anything reported for ``chunk`` (an attempt that failed) and return this incarnation."""
        self._chunks.pop(chunk, None)
        self._seen.pop(chunk, None)
        return self.incarnation

    def add(self, chunk: str, name: str, docs_in: int, docs_out: int, dropped: dict, by_language=None,
            noted=None, key: Optional[str] = None, samples: Optional[dict] = None,
            files: Optional[dict] = None, drops: Optional[dict] = None, metrics: Optional[tuple] = None) -> bool:
        """Counts a batch's report unless its key was seen in this chunk; True when it was counted. ``metrics``:
        (pipeline, job labels) whose Ray metrics counters a counted report is added to."""
        if key is not None:
            if key in self._seen[chunk]:
                self.duplicates += 1
                return False
            self._seen[chunk].add(key)
        self._chunks[chunk].add(name, docs_in, docs_out, dropped, by_language, noted, samples=samples, files=files,
                                drops=drops)
        if metrics is not None:
            pipeline, job = metrics
            try:
                export_counts(pipeline, name, docs_in, docs_out, dropped, by_language or {}, job)
            except Exception:  # metrics are a view; never fail the pipeline over them
                pass
        return True

    def pop_chunk(self, chunk: str) -> tuple:
        """A finished chunk's statistics (as ``stats.json`` holds them), its sampled dropped documents (a
        :func:`operators.drop_samples.payload`) and this incarnation."""
        self._seen.pop(chunk, None)
        stats = self._chunks.pop(chunk, PipelineStats())
        return stats.to_dict(), stats.drop_samples.payload(), self.incarnation

    def pop(self, chunk: str) -> dict:
        """A finished chunk's statistics alone."""
        return self.pop_chunk(chunk)[0]

    def duplicate_reports(self) -> int:
        return self.duplicates


HEAD_NODE_RESOURCE = "node:__internal_head__"   # every Ray head node has it


def start_collector(name: str = ""):
    """A :class:`StatsCollector` actor on the head node, restarted by Ray if its process dies, its calls retried
    across the restart (``max_task_retries``: a report sent twice is counted once by its key)."""
    import ray

    options = dict(num_cpus=0, max_restarts=-1, max_task_retries=-1, resources={HEAD_NODE_RESOURCE: 0.001})
    if name:
        options["name"] = name
    return ray.remote(**options)(StatsCollector).remote()


class ChunkLost(RuntimeError):
    """The statistics actor restarted while a chunk ran: the chunk's counts are incomplete; redo it."""


class RayStatsSink:
    """``job``: the driver's :func:`job_labels` (made on the driver: this object travels to the workers)."""

    def __init__(self, collector, chunk: str, pipeline: str, job: Mapping[str, str]) -> None:
        self.collector = collector
        self.chunk = chunk
        self.pipeline = pipeline
        self.job = dict(job)

    def add(self, name: str, docs_in: int, docs_out: int, dropped: dict, by_language=None, noted=None,
            key: Optional[str] = None, samples: Optional[dict] = None, files: Optional[dict] = None,
            drops: Optional[dict] = None) -> None:
        import ray

        ray.get(self.collector.add.remote(self.chunk, name, docs_in, docs_out, dropped, by_language, noted, key,
                                          samples=samples, files=files, drops=drops, metrics=(self.pipeline, self.job)))

