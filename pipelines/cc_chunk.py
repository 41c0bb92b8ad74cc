"""Curating one chunk of WARC/WET files, in-process or on Ray Data, with the same operators.

Pipeline order: read → URL filter → extract → language ID → quality filter → perplexity (when
``perplexity.model_dir`` is set) → write. The URL filter runs before
extraction, as the paper puts it (§3.1.1), "to avoid subsequent computationally expensive processing":
a blocked URL costs nothing to drop, while extraction is ~75 % of the CPU time.

On Ray every step is a ``map_batches`` task stage; Ray Data fuses consecutive task stages into one
physical operator per file, so documents are not copied between steps. The dashboard shows the
stage names (``MapBatches(WarcReader)->MapBatches(UrlFilter)->...``). Models are loaded once per
worker process (:mod:`operators.model_cache`), so tasks do not need to be actors.
"""

from __future__ import annotations

from typing import List, Sequence

import pyarrow as pa

from operators.extract import TrafilaturaExtractor
from operators.langid import LanguageIdFilter
from operators.perplexity import PerplexityFilter
from operators.quality_filter import QualityFilter
from operators.runner import OperatorRunner, SourceRunner, run_in_process
from operators.stats import PipelineStats
from operators.url_filter import UrlFilter
from operators.warc_reader import WarcReader
from pipelines.curate_config import CurateConfig
from pipelines.shard_output import MANIFEST_SCHEMA, Chunk, write_parts

PIPELINE_NAME = "curate_cc"


def build_steps(config: CurateConfig, sink):
    source = SourceRunner(WarcReader(config.reader), sink)
    operators = [
        OperatorRunner(UrlFilter(config.url_filter), sink),
        OperatorRunner(TrafilaturaExtractor(config.extract), sink),
        OperatorRunner(LanguageIdFilter(config.langid), sink),
        OperatorRunner(QualityFilter(config.quality), sink),
    ]
    if config.perplexity.enabled:
        operators.append(OperatorRunner(PerplexityFilter(config.perplexity), sink))
    return source, operators


def operator_names(config: CurateConfig) -> List[str]:
    source, operators = build_steps(config, None)
    return [source.name] + [op.name for op in operators]


def run_chunk_in_process(config: CurateConfig, chunk: Chunk, tmp_dir: str) -> tuple[pa.Table, PipelineStats]:
    stats = PipelineStats(operator_names(config))
    source, operators = build_steps(config, stats)
    manifests: List[pa.Table] = []
    pending: List[pa.Table] = []
    pending_rows = 0
    for table in run_in_process(source, operators, chunk.files):
        pending.append(table)
        pending_rows += table.num_rows
        if pending_rows >= config.output.rows_per_file:
            manifests.append(write_parts(pa.concat_tables(pending), tmp_dir))
            pending, pending_rows = [], 0
    if pending:
        manifests.append(write_parts(pa.concat_tables(pending), tmp_dir))
    return _concat_manifests(manifests), stats


def _stage(runner, name: str):
    """A plain function around a runner, named after the operator class for the dashboard."""

    def stage(batch):
        return runner(batch)

    stage.__name__ = stage.__qualname__ = name
    return stage


def _source_stage(runner, name: str):
    def stage(batch):
        yield from runner(batch)

    stage.__name__ = stage.__qualname__ = name
    return stage


def _writer(tmp_dir: str):
    def ShardWriter(batch):
        return write_parts(batch, tmp_dir)

    return ShardWriter


def run_chunk_on_ray(config: CurateConfig, chunk: Chunk, tmp_dir: str, collector) -> tuple[pa.Table, PipelineStats]:
    import ray

    from pipelines.ray_stats import RayStatsSink

    sink = RayStatsSink(collector, chunk.name, PIPELINE_NAME)
    source, operators = build_steps(config, sink)
    task_cpus = config.ray.cpus_per_task
    # One task per file for big files (Common Crawl's are ~1 GB); many small files share a task so
    # that per-task scheduling gaps stay small: at most 8 tasks per CPU per chunk.
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    blocks = min(len(chunk.files), 8 * cpus)
    ds = ray.data.from_items([{"path": f} for f in chunk.files], override_num_blocks=blocks)
    ds = ds.map_batches(
        _source_stage(source, type(source.source).__name__),
        batch_size=1, batch_format="pyarrow", num_cpus=task_cpus,
    )
    for op in operators:
        ds = ds.map_batches(
            _stage(op, type(op.operator).__name__), batch_size=None, batch_format="pyarrow", num_cpus=task_cpus
        )
    ds = ds.map_batches(_writer(tmp_dir), batch_size=None, batch_format="pyarrow", num_cpus=task_cpus)
    manifests = [b for b in ds.iter_batches(batch_format="pyarrow", batch_size=None) if b.num_rows]
    chunk_stats = PipelineStats(operator_names(config)).merge(
        PipelineStats.from_dict(ray.get(collector.pop.remote(chunk.name)))
    )
    return _concat_manifests(manifests), chunk_stats


def _concat_manifests(manifests: Sequence[pa.Table]) -> pa.Table:
    manifests = [m for m in manifests if m.num_rows]
    if not manifests:
        return MANIFEST_SCHEMA.empty_table()
    return pa.concat_tables(manifests)
