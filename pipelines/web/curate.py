"""Curate Common Crawl WARC/WET files into per-language Parquet shards (paper §3.1.1).

    python pipelines/curate_cc.py --input 'data/*.warc.gz' --output OUT [--config FILE]
    ray job submit --working-dir . -- python pipelines/curate_cc.py --input s3://commoncrawl/... --output s3://...

Standalone it starts an embedded local Ray; under ``ray job submit`` (RAY_ADDRESS set) or with
``--ray-address`` it uses that cluster; ``--in-process`` runs without Ray at all (one process).
Inputs are processed in chunks of files; finished chunks (``_SUCCESS``) are skipped on a rerun.
Writes ``OUT/<lang>/*.parquet`` and ``OUT/stats.json``, and prints the statistics table.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import List, Optional, Tuple

import pyarrow as pa

from common.atomic_io import finish_run
from common.config_check import ConfigError
from common.remote_files import COMMON_CRAWL_HTTPS, expand_inputs
from operators.stats import PipelineStats
from pipelines.runtime.cli import add_ray_arguments, run_pipeline
from pipelines.runtime.executor import InProcessExecutor, RayDataExecutor, StepList
from pipelines.runtime.ray_session import init_ray
from pipelines.web.config import CurateConfig, load_config
from pipelines.web.shard_output import Chunk, ShardOutput, concat_manifests, plan_chunks, write_parts
from pipelines.web.steps import PIPELINE_NAME, web_steps

log = logging.getLogger("curate_cc")


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", nargs="+", required=True,
                        help="WARC/WET files, globs, directories, https:// or s3:// URLs, or a warc.paths.gz listing")
    parser.add_argument("--output", required=True, help="output directory")
    parser.add_argument("--config", help="YAML config (default: built-in defaults, see configs/curate_cc.yaml)")
    add_ray_arguments(parser)
    parser.add_argument("--num-cpus", type=int, help="CPUs of the embedded local Ray (overrides ray.num_cpus)")
    parser.add_argument("--chunk-files", type=int, help="input files per chunk (overrides output.chunk_files)")
    parser.add_argument("--listing-prefix", default=COMMON_CRAWL_HTTPS,
                        help="prefix for relative paths in a warc.paths.gz listing (default: %(default)s)")
    return parser.parse_args(argv)


def _chunk_concurrency(config: CurateConfig) -> int:
    if config.ray.concurrent_chunks is not None:
        return config.ray.concurrent_chunks
    import ray

    cpus = int(ray.cluster_resources().get("CPU", 1))
    return max(2, math.ceil(cpus / max(1, config.output.chunk_files)) + 1)


def _collector():
    import ray

    from pipelines.runtime.ray_stats import StatsCollector

    return ray.remote(num_cpus=0)(StatsCollector).remote()


def run_chunk(steps: StepList, chunk: Chunk, tmp_dir: str, rows_per_file: int, collector=None,
              cpus_per_task: float = 1.0) -> Tuple[pa.Table, PipelineStats]:
    """Curate one chunk's files into parts under ``tmp_dir``: the parts' manifest and the chunk's statistics.
    In this process without a ``collector``; on Ray Data with one (the statistics actor)."""
    def write(batch: pa.Table) -> pa.Table:
        return write_parts(batch, tmp_dir)

    if collector is None:
        stats = PipelineStats(steps.names)
        manifests = InProcessExecutor().execute(steps, chunk.files, stats, write, write_rows=rows_per_file)
        return concat_manifests(manifests), stats
    import ray

    from pipelines.runtime.ray_stats import RayStatsSink

    sink = RayStatsSink(collector, chunk.name, PIPELINE_NAME)
    manifests = RayDataExecutor(cpus_per_task).execute(steps, chunk.files, sink, write)
    stats = PipelineStats(steps.names).merge(PipelineStats.from_dict(ray.get(collector.pop.remote(chunk.name))))
    return concat_manifests(manifests), stats


def curate(config: CurateConfig, inputs: List[str], output: str, in_process: bool = False,
           ray_address: Optional[str] = None, listing_prefix: str = COMMON_CRAWL_HTTPS) -> PipelineStats:
    locations = expand_inputs(inputs, listing_prefix)
    if not locations:
        raise ConfigError("--input: no input files")
    shards = ShardOutput(output)
    chunks = plan_chunks(locations, config.output.chunk_files)
    shards.check_plan(chunks)
    todo = [c for c in chunks if not shards.is_done(c)]
    log.info("%d input files in %d chunks; %d already done", len(locations), len(chunks), len(chunks) - len(todo))

    collector = None
    concurrency = 1
    if todo and not in_process:
        init_ray(ray_address, config.ray.num_cpus)
        collector = _collector()
        concurrency = _chunk_concurrency(config)

    steps = web_steps(config)
    running = PipelineStats(steps.names)
    lock = threading.Lock()
    progress = {"chunks": 0, "files": 0}
    run_started = time.time()

    def process(chunk: Chunk) -> None:
        started = time.time()
        shards.reset_chunk(chunk)
        tmp_dir = shards.tmp_dir(chunk)
        manifest, stats = run_chunk(steps, chunk, tmp_dir, config.output.rows_per_file, collector,
                                    config.ray.cpus_per_task)
        shards.commit_chunk(chunk, manifest, stats)
        with lock:
            running.merge(stats)
            progress["chunks"] += 1
            progress["files"] += len(chunk.files)
            first = running.operators[0] if running.operators else None
            log.info("progress: %d/%d chunks, %d/%d files, %d documents read, %d kept, %.0f s (%s: %d files in "
                     "%.1f s); this run so far:\n%s", progress["chunks"], len(todo), progress["files"],
                     sum(len(c.files) for c in todo), first.docs_out if first else 0,
                     sum(running.kept_per_language.values()), time.time() - run_started, chunk.name,
                     len(chunk.files), time.time() - started, running.table())

    if concurrency == 1:
        for chunk in todo:
            process(chunk)
    else:
        # Several chunks in flight keep every CPU busy while one chunk waits for its slowest file.
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="chunk") as pool:
            for future in [pool.submit(process, chunk) for chunk in todo]:
                future.result()

    total = PipelineStats(steps.names)
    for chunk in chunks:
        total.merge(shards.chunk_stats(chunk))
    total.check()
    finish_run(shards.root, total, f"Statistics of {os.path.basename(shards.root)}")
    return total


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)

    def job() -> PipelineStats:
        config = load_config(args.config)
        if args.num_cpus is not None:
            config.ray.num_cpus = args.num_cpus
        if args.chunk_files is not None:
            if args.chunk_files <= 0:
                raise ConfigError("--chunk-files: must be positive")
            config.output.chunk_files = args.chunk_files
        return curate(config, args.input, args.output, args.in_process, args.ray_address, args.listing_prefix)

    return run_pipeline(PIPELINE_NAME, args.output, job)

