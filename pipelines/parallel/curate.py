"""Curate parallel corpora into translation-template text for pretraining (paper §3.1.2, Table 13).

    python pipelines/curate_parallel.py --input opus/en-de.tmx.gz ccaligned/en_XX-de_DE.tsv.xz \\
        --src en --tgt de --output out/parallel [--laser-dir models/laser | --encoder use] [--config FILE]
    ray job submit --working-dir . -- python pipelines/curate_parallel.py --input ... --src en --tgt de --output ...

Per input file (Ray Data tasks, or a loop with ``--in-process``): read (``operators/parallel/bitext_reader.py``)
-> heuristic pair filters (``operators/parallel/pair_filters.py``) -> similarity margin
(``operators/parallel/similarity.py``: LASER when ``--laser-dir`` / ``similarity.model_dir`` is given, or
Universal Sentence Encoder Multilingual v3 with ``--encoder use``). Then, over all files in input order, pair dedup:
a pair is dropped when its normalized pair (``dup:pair``), source (``dup:source``) or target
(``dup:target``) already occurred in a kept pair (normalized: lowercase, only letters and digits).
Last, each kept pair becomes ``text`` in one of Table 13's templates, drawn per pair from a seeded
RNG (``operators/parallel/translation_templates.py``); ``templates.directions: both`` adds the reverse.

Output: ``OUT/<src>-<tgt>/part-NNNNN.parquet`` (one per input file: ``text``, ``template_id``,
``src_lang``, ``tgt_lang``, ``src_text``, ``tgt_text``, the scores, ``id``), ``OUT/stats.json`` and
``OUT/_drops/drops.parquet`` (a sample of the dropped pairs per step and reason, both sides in ``text``).
Without a similarity encoder (laser without models) the pipeline runs the heuristics only: ``stats.json``
(``details.parallel.similarity``) and every shard's Parquet metadata (``curation.similarity``) say which ran.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
from collections import Counter
from dataclasses import asdict
from typing import List, Optional

from common.atomic_io import check_plan, finish_run
from common.config_check import ConfigError
from common.fingerprints import files_identity, settings_plan
from operators.decontamination.filter import prepare as prepare_decontamination
from operators.embeddings.encoders import ENCODERS
from operators.parallel.bitext_reader import BitextReader
from operators.stats import PipelineStats
from pipelines.parallel.config import ParallelConfig, load_config
from pipelines.parallel.steps import (
    DEDUP_REASONS,
    DEDUP_STEP,
    FilterItem,
    FilterResult,
    RenderItem,
    dedup_drop_candidates,
    dedup_reasons,
    filter_task,
    parallel_steps,
    render_task,
)
from pipelines.runtime.cli import add_overwrite_argument, add_ray_arguments, run_pipeline
from pipelines.runtime.ray_session import init_ray
from pipelines.runtime.ray_stats import publish_stats
from pipelines.runtime.task_map import map_items, run_stage

log = logging.getLogger("curate_parallel")


def curate_parallel(config: ParallelConfig, inputs: List[str], output: str, in_process: bool = False,
                    ray_address: Optional[str] = None, overwrite: bool = False) -> PipelineStats:
    if not inputs:
        raise ConfigError("--input: no input files")
    reader = BitextReader(config.reader)
    for location in inputs:
        reader.check_location(location)
    output = os.path.abspath(output)
    work = os.path.join(output, "_work")
    plan = {"pipeline": "curate_parallel", "inputs": files_identity(inputs),
            **settings_plan(config, drop=["num_cpus"])}
    if check_plan(output, plan, overwrite):
        log.info("starting afresh in %s", output)
    prepare_decontamination(config.decontamination)   # the benchmark index, once, before any work
    if not in_process:
        init_ray(ray_address, config.num_cpus)
    config_data = asdict(config)
    pair = f"{config.reader.src}-{config.reader.tgt}"
    filtered = [os.path.join(work, "filtered", f"part-{i:05d}.parquet") for i in range(len(inputs))]
    results = run_stage(work, "filter", filter_task,
                        [FilterItem(loc, config_data, f) for loc, f in zip(inputs, filtered)], not in_process,
                        FilterResult)
    steps = parallel_steps(config)
    stats = PipelineStats(steps.names + [DEDUP_STEP])
    for result in results:
        stats.merge(PipelineStats.from_dict(result.stats))
        stats.drop_samples.add_payload(result.drops)
    if not in_process:
        publish_stats("curate_parallel", stats, steps.names, work)
    present = [f if r.rows else None for f, r in zip(filtered, results)]
    reasons = dedup_reasons(present)
    flat = [r for rs in reasons for r in rs]
    stats.add(DEDUP_STEP, len(flat), sum(r is None for r in flat), {k: flat.count(k) for k in DEDUP_REASONS})
    if config.drops.enabled:
        stats.drop_samples.add(dedup_drop_candidates(present, reasons, config.drops), config.drops.per_key)
    if not in_process:
        publish_stats("curate_parallel", stats, [DEDUP_STEP], work)
    similarity = config.similarity.describe()
    items = [RenderItem(f, rs, config_data, similarity, os.path.join(output, pair, f"part-{i:05d}.parquet"))
             for i, (f, rs) in enumerate(zip(present, reasons)) if f is not None]
    rendered = map_items(render_task, items, not in_process, "render_templates")
    templates: Counter = Counter()
    for result in rendered:
        templates.update(result.templates)
    stats.add_kept({pair: sum(r.texts for r in rendered)})
    stats.details["decontamination"] = config.decontamination.describe()
    stats.details["parallel"] = {"similarity": similarity, "directions": config.templates.directions,
                                 "template_counts": dict(sorted(templates.items()))}
    finish_run(output, stats, f"Parallel-data statistics of {os.path.basename(output)}")
    shutil.rmtree(work, ignore_errors=True)
    return stats


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", nargs="+", required=True,
                        help="corpora: Moses prefixes, .tsv, .tmx or CCAligned files (optionally .gz/.xz/.bz2/.zst)")
    parser.add_argument("--src", required=True, help="source language code (en, de, zh, ...)")
    parser.add_argument("--tgt", required=True, help="target language code")
    parser.add_argument("--output", required=True)
    parser.add_argument("--format", help="moses, tsv, tmx or ccaligned (default: from each file's name)")
    parser.add_argument("--laser-dir", help="folder with the LASER model files: the similarity filter with LASER")
    parser.add_argument("--encoder", choices=ENCODERS,
                        help="similarity.encoder: laser (needs --laser-dir) or use (Universal Sentence Encoder "
                             "Multilingual v3, packaged); default: the config's (laser without models: off)")
    parser.add_argument("--config", help="YAML config (see configs/parallel.yaml)")
    add_ray_arguments(parser)
    add_overwrite_argument(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)

    def job() -> PipelineStats:
        config = load_config(args.config, src=args.src, tgt=args.tgt, format=args.format,
                             laser_dir=args.laser_dir, encoder=args.encoder)
        stats = curate_parallel(config, args.input, args.output, args.in_process, args.ray_address, args.overwrite)
        log.info("%s", json.dumps(stats.details["parallel"], ensure_ascii=False))
        return stats

    return run_pipeline("curate_parallel", args.output, job, args.input)

