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
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from operators.config_check import ConfigError  # noqa: E402
from operators.remote_files import COMMON_CRAWL_HTTPS, expand_inputs  # noqa: E402
from operators.stats import PipelineStats  # noqa: E402
from pipelines.cc_chunk import (  # noqa: E402
    PIPELINE_NAME,
    operator_names,
    run_chunk_in_process,
    run_chunk_on_ray,
)
from pipelines.curate_config import CurateConfig, load_config  # noqa: E402
from pipelines.cli import add_ray_arguments, run_pipeline  # noqa: E402
from pipelines.ray_session import init_ray  # noqa: E402
from pipelines.shard_output import Chunk, ShardOutput, plan_chunks  # noqa: E402

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

    from pipelines.ray_stats import StatsCollector

    return ray.remote(num_cpus=0)(StatsCollector).remote()


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

    running = PipelineStats(operator_names(config))
    lock = threading.Lock()
    progress = {"chunks": 0, "files": 0}
    run_started = time.time()

    def process(chunk: Chunk) -> None:
        started = time.time()
        shards.reset_chunk(chunk)
        tmp_dir = shards.tmp_dir(chunk)
        if in_process:
            manifest, stats = run_chunk_in_process(config, chunk, tmp_dir)
        else:
            manifest, stats = run_chunk_on_ray(config, chunk, tmp_dir, collector)
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

    total = PipelineStats(operator_names(config))
    for chunk in chunks:
        total.merge(shards.chunk_stats(chunk))
    total.check()
    shards.write_stats(total)
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


if __name__ == "__main__":
    sys.exit(main())
