"""Curate Common Crawl WARC/WET files into per-language Parquet shards (paper §3.1.1).

    python pipelines/curate_cc.py --input 'data/*.warc.gz' --output OUT [--config FILE]
    ray job submit --working-dir . -- python pipelines/curate_cc.py --input s3://commoncrawl/... --output s3://...

Standalone it starts an embedded local Ray; under ``ray job submit`` (RAY_ADDRESS set) or with
``--ray-address`` it uses that cluster; ``--in-process`` runs without Ray at all (one process).
Inputs are processed in chunks of files; a rerun with the same inputs and settings skips the finished chunks
(``_SUCCESS``); with other ones it is an error naming what changed (``--overwrite`` starts afresh).
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

from common.atomic_io import check_plan, finish_run
from common.config_check import ConfigError
from common.fingerprints import file_identity, files_identity, settings_plan
from common.remote_files import COMMON_CRAWL_HTTPS, expand_input_files
from operators.decontamination.filter import prepare as prepare_decontamination
from operators.stats import PipelineStats
from pipelines.runtime.cli import add_overwrite_argument, add_ray_arguments, run_pipeline
from pipelines.runtime.executor import InProcessExecutor, RayDataExecutor, StepList
from pipelines.runtime.ray_session import init_ray
from pipelines.runtime.ray_stats import ChunkLost
from pipelines.runtime.running_stats import log_running_stats
from pipelines.web.config import CurateConfig, load_config
from pipelines.web.shard_output import Chunk, ShardOutput, concat_manifests, plan_chunks, write_parts
from pipelines.web.steps import PIPELINE_NAME, web_steps

log = logging.getLogger("curate_cc")
# A chunk is redone when the statistics actor restarted while it ran (its counts were lost), this often at most.
CHUNK_ATTEMPTS = 3


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", nargs="+", required=True,
                        help="WARC/WET files, globs, directories, https:// or s3:// URLs, or a warc.paths.gz listing")
    parser.add_argument("--output", required=True, help="output directory")
    parser.add_argument("--config", help="YAML config (default: built-in defaults, see configs/curate_cc.yaml)")
    add_ray_arguments(parser)
    add_overwrite_argument(parser)
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

    from pipelines.runtime.ray_stats import RayStatsSink, job_labels

    began = ray.get(collector.begin_chunk.remote(chunk.name))
    sink = RayStatsSink(collector, chunk.name, PIPELINE_NAME, job_labels())
    manifests = RayDataExecutor(cpus_per_task).execute(steps, chunk.files, sink, write)
    counts, drops, ended = ray.get(collector.pop_chunk.remote(chunk.name))
    if ended != began:
        raise ChunkLost(f"{chunk.name}: the statistics actor restarted while the chunk ran")
    stats = PipelineStats(steps.names).merge(PipelineStats.from_dict(counts))
    stats.drop_samples.add_payload(drops)
    return concat_manifests(manifests), stats


def progress_line(running: PipelineStats, chunks: int, total_chunks: int, files: int, total_files: int,
                  elapsed: float) -> str:
    """``progress: 2/3 chunks, 10/15 files, 444 records read, 52 documents kept, 37 records/s, ETA 12 s``: the
    records the reader read (its docs_in, every WARC record), the documents the last step kept, and the time
    left at this run's pace over its files."""
    records = running.operators[0].docs_in if running.operators else 0
    kept = sum(running.kept_per_language.values())
    line = (f"progress: {chunks}/{total_chunks} chunks, {files}/{total_files} files, {records} records read, "
            f"{kept} documents kept, {records / max(elapsed, 1e-9):.0f} records/s")
    if 0 < files < total_files:
        line += f", ETA {_duration(elapsed * (total_files - files) / files)}"
    return line


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _damaged(shards: ShardOutput, chunk: Chunk) -> bool:
    """A committed chunk whose shards changed since they were written: said, and redone by this run."""
    damage = shards.damage(chunk)
    if damage:
        more = f" (and {len(damage) - 1} more)" if len(damage) > 1 else ""
        log.warning("%s%s; redoing %s", damage[0], more, chunk.name)
    return bool(damage)


def run_plan(config: CurateConfig, locations: List[str]) -> dict:
    """What a run's output depends on: its input files in order, the settings (``output.chunk_files`` fixes the
    chunking; Ray's only place the work) and the files they name, and the language-ID model (lid.176 from its
    package by default), and the fast extraction engine's block model when that engine runs."""
    plan = {"pipeline": PIPELINE_NAME, "inputs": files_identity(locations), **settings_plan(config, drop=["ray"]),
            "lid_model": file_identity(config.langid.resolved_model_path())}
    # reader.backend only changes the speed (both parsers give the same rows): a rerun with the other one
    # resumes, and output folders written before the setting existed still match.
    plan["settings"]["reader"].pop("backend", None)
    if config.extract.engine == "fast":
        plan["extraction_model"] = file_identity(str(config.extract.resolved_fast_model_path()))
    return plan


def curate(config: CurateConfig, inputs: List[str], output: str, in_process: bool = False,
           ray_address: Optional[str] = None, listing_prefix: str = COMMON_CRAWL_HTTPS,
           overwrite: bool = False) -> PipelineStats:
    expansion = expand_input_files(inputs, listing_prefix)
    locations = expansion.locations
    if not locations:
        raise ConfigError("--input: no input files")
    shards = ShardOutput(output)
    chunks = plan_chunks(locations, config.output.chunk_files)
    check_plan(shards.root, run_plan(config, locations), overwrite)
    todo = [c for c in chunks if not shards.is_done(c) or _damaged(shards, c)]
    if todo:
        prepare_decontamination(config.decontamination)   # the benchmark index, once, before any work
    log.info("%d input files in %d chunks; %d already done", len(locations), len(chunks), len(chunks) - len(todo))

    collector = None
    concurrency = 1
    if todo and not in_process:
        from pipelines.runtime.ray_stats import start_collector

        init_ray(ray_address, config.ray.num_cpus)
        collector = start_collector()
        concurrency = _chunk_concurrency(config)

    steps = web_steps(config)
    running = PipelineStats(steps.names)
    lock = threading.Lock()
    progress = {"chunks": 0, "files": 0}
    todo_files = sum(len(c.files) for c in todo)
    run_started = time.time()

    def process(chunk: Chunk) -> None:
        started = time.time()
        for attempt in range(1, CHUNK_ATTEMPTS + 1):
            shards.reset_chunk(chunk)
            tmp_dir = shards.tmp_dir(chunk)
            try:
                manifest, stats = run_chunk(steps, chunk, tmp_dir, config.output.rows_per_file, collector,
                                            config.ray.cpus_per_task)
                shards.commit_chunk(chunk, manifest, stats)
                break
            except ChunkLost as lost:
                shards.reset_chunk(chunk, best_effort=True)
                if attempt == CHUNK_ATTEMPTS:
                    raise
                log.warning("%s; redoing it (attempt %d of %d)", lost, attempt + 1, CHUNK_ATTEMPTS)
            except BaseException:
                shards.reset_chunk(chunk, best_effort=True)  # nothing of an unfinished chunk stays (a full disk...)
                raise
        with lock:
            running.merge(stats)
            progress["chunks"] += 1
            progress["files"] += len(chunk.files)
            log.info("%s (%s: %d files in %.1f s); this run so far:\n%s",
                     progress_line(running, progress["chunks"], len(todo), progress["files"], todo_files,
                                   time.time() - run_started),
                     chunk.name, len(chunk.files), time.time() - started, running.table())
            log_running_stats(log, running, progress["chunks"], len(todo))

    if concurrency == 1:
        for chunk in todo:
            process(chunk)
    else:
        # Several chunks in flight keep every CPU busy while one chunk waits for its slowest file.
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="chunk") as pool:
            for future in [pool.submit(process, chunk) for chunk in todo]:
                future.result()

    shards.remove_tmp()
    total, earlier = PipelineStats(steps.names), PipelineStats(steps.names)
    done_now = {chunk.name for chunk in todo}
    for chunk in chunks:
        committed = shards.chunk_stats(chunk)
        total.merge(committed)
        if chunk.name not in done_now:
            earlier.merge(committed)
    if collector is not None and len(todo) < len(chunks):
        # A resumed run is a job of its own: its metrics hold what its stats.json does, the chunks an earlier
        # run committed included.
        from pipelines.runtime.ray_stats import export_stats, job_labels

        export_stats(PIPELINE_NAME, earlier, steps.names, job_labels())
    total.add_skipped_inputs(expansion.skipped)
    total.details["decontamination"] = config.decontamination.describe()
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
        return curate(config, args.input, args.output, args.in_process, args.ray_address, args.listing_prefix,
                      args.overwrite)

    return run_pipeline(PIPELINE_NAME, args.output, job, args.input)

