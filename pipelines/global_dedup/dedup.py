"""Global deduplication of curated shards: MinHash near-duplicates, then exact substrings (paper §3.1.1).

    python pipelines/dedup.py --input CURATED_DIR --output DIR [--stage minhash|substring|all]
    ray job submit --working-dir . -- python pipelines/dedup.py --input /data/curated --output /data/dedup

A global pass over every shard of a ``curate_cc.py`` output (``CURATED_DIR/<lang>/*.parquet``): it
writes shards in the same layout (same relative paths) and ``DIR/stats.json`` in the format of
curation, with ``details`` holding the cluster-size histogram and removed-character totals.
Standalone it starts an embedded local Ray; under ``ray job submit`` (RAY_ADDRESS set) or with
``--ray-address`` it uses that cluster; ``--in-process`` runs without Ray. Intermediate files live in
``DIR/_work``; a rerun after a crash, with the same inputs and settings, resumes at the first unfinished
stage (``--keep-work`` keeps them after success); with other ones it is an error naming what changed
(``--overwrite`` starts afresh). Input and output must be on storage every worker sees (a shared or mounted path).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
from dataclasses import asdict, dataclass, field
from typing import List, Optional

from common.atomic_io import check_plan, finish_run
from common.config_check import ConfigError, build, config_dir, read_yaml_mapping
from common.fingerprints import file_identity, files_identity, settings_plan
from common.tokenizer import tokenizer_source
from operators.dedup.minhash import MinHashConfig
from operators.drop_samples import DropSampling
from operators.stats import PipelineStats
from pipelines.global_dedup import minhash_dedup, substring_dedup
from pipelines.global_dedup.minhash_dedup import MinHashOutcome, MinHashRun, default_partitions, run_minhash
from pipelines.global_dedup.substring_dedup import SubstringConfig, SubstringOutcome, SubstringRun, run_substring
from pipelines.runtime.cli import add_overwrite_argument, add_ray_arguments, run_pipeline
from pipelines.runtime.ray_session import init_ray
from pipelines.runtime.ray_stats import publish_stats
from pipelines.runtime.shard_files import list_inputs
from pipelines.runtime.task_map import StageChain

log = logging.getLogger("dedup")
STAGES = ("minhash", "substring", "all")


@dataclass
class DedupConfig:
    minhash: MinHashConfig = field(default_factory=MinHashConfig)
    substring: SubstringConfig = field(default_factory=SubstringConfig)
    # Hash partitions of the band and graph stages; None = one per ~250k documents (at least 2).
    partitions: Optional[int] = None
    # CPUs of an embedded local Ray (ignored on a cluster); None = all.
    num_cpus: Optional[int] = None
    # A sample of the documents each stage removed into OUT/_drops/: MinHash's near-duplicates with their cluster's
    # representative, and the documents the substring cut left too short, with their text before the cut.
    drops: DropSampling = field(default_factory=DropSampling)

    def validate(self) -> None:
        if self.partitions is not None and not 1 <= self.partitions <= 4096:
            raise ConfigError("partitions: must be between 1 and 4096")
        if self.num_cpus is not None and self.num_cpus <= 0:
            raise ConfigError("num_cpus: must be positive")


def load_config(path: Optional[str]) -> DedupConfig:
    config = build(DedupConfig, read_yaml_mapping("--config", path) if path else {}, base_dir=config_dir(path))
    config.substring.check_files()
    return config


def add_minhash_stats(stats: PipelineStats, result: MinHashOutcome) -> None:
    reason = minhash_dedup.REASON
    by_language = {lang: (docs_in, docs_out, {reason: docs_in - docs_out})
                   for lang, (docs_in, docs_out) in result.by_language.items()}
    docs_in = sum(c[0] for c in by_language.values())
    docs_out = sum(c[1] for c in by_language.values())
    stats.add("minhash", docs_in, docs_out, {reason: docs_in - docs_out}, by_language,
              {minhash_dedup.NO_WORDS: sum(result.without_words.values())}, drops=result.drops or None)
    stats.details["minhash"] = result.details


def add_substring_stats(stats: PipelineStats, result: SubstringOutcome) -> None:
    reason = substring_dedup.REASON
    by_language = {lang: (c[0], c[1], {reason: c[0] - c[1]}) for lang, c in result.by_language.items()}
    docs_in = sum(c[0] for c in by_language.values())
    docs_out = sum(c[1] for c in by_language.values())
    trimmed = sum(c[2] for c in result.by_language.values())
    stats.add("substring", docs_in, docs_out, {reason: docs_in - docs_out}, by_language,
              {substring_dedup.TRIMMED: trimmed}, drops=result.drops or None)
    stats.details["substring"] = result.details


def dedup(config: DedupConfig, input_dir: str, output: str, stage: str = "all", in_process: bool = False,
          ray_address: Optional[str] = None, keep_work: bool = False, overwrite: bool = False) -> PipelineStats:
    if stage not in STAGES:
        raise ConfigError(f"--stage: expected one of {', '.join(STAGES)}, got {stage!r}")
    if not os.path.isdir(input_dir):
        raise ConfigError(f"--input: folder not found: {input_dir}")
    input_dir = os.path.abspath(input_dir)
    inputs = list_inputs(input_dir)
    if not inputs:
        raise ConfigError(f"--input: no <lang>/*.parquet shards in {input_dir}")
    output = os.path.abspath(output)
    if input_dir == output:
        raise ConfigError("--output: must differ from --input")
    if stage != "minhash":
        config.substring.check_files()
    work = os.path.join(output, "_work")
    partitions = default_partitions(inputs, config.partitions)
    settings = asdict(config) | {"partitions": partitions}
    plan = {"pipeline": "dedup", "inputs": files_identity(inputs), "stage": stage,
            **settings_plan(settings, drop=["num_cpus"])}
    if stage != "minhash":
        plan["tokenizer"] = file_identity(tokenizer_source(config.substring.tokenizer, "substring.tokenizer"))
    if check_plan(output, plan, overwrite):
        log.info("starting afresh in %s", output)
    if not in_process:
        init_ray(ray_address, config.num_cpus)
    stats = PipelineStats([s for s in ("minhash", "substring") if stage in (s, "all")])
    chain = StageChain(use_ray=not in_process)   # one chain: substring reruns when MinHash's output was redone
    final_output, next_input = output, input_dir
    if stage in ("minhash", "all"):
        minhash_output = output if stage == "minhash" else os.path.join(work, "after-minhash")
        run = MinHashRun(inputs, input_dir, minhash_output, os.path.join(work, "minhash"), config.minhash, partitions,
                         config.drops)
        log.info("MinHash over %d files, %d partitions, %d x %d bands", len(inputs), partitions,
                 config.minhash.bands, config.minhash.rows)
        add_minhash_stats(stats, run_minhash(run, chain))
        if not in_process:
            publish_stats("dedup", stats, ["minhash"], work)
        next_input = minhash_output
    if stage in ("substring", "all"):
        run = SubstringRun(list_inputs(next_input), next_input, final_output, os.path.join(work, "substring"),
                           config.substring, config.drops)
        log.info("exact substrings of >= %d tokens over %d files", config.substring.min_tokens, len(run.inputs))
        add_substring_stats(stats, run_substring(run, chain))
        if not in_process:
            publish_stats("dedup", stats, ["substring"], work)
    last = stats.operators[-1]
    stats.add_kept({lang: counts.docs_out for lang, counts in last.by_language.items()})
    finish_run(output, stats, f"Deduplication statistics of {os.path.basename(output)}")
    if not keep_work:
        shutil.rmtree(work, ignore_errors=True)
    return stats


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", required=True, help="a curate_cc.py output folder (<lang>/*.parquet)")
    parser.add_argument("--output", required=True, help="output folder (same layout) and stats.json")
    parser.add_argument("--stage", default="all", choices=STAGES)
    parser.add_argument("--config", help="YAML config (default: built-in defaults, see configs/dedup.yaml)")
    add_ray_arguments(parser)
    add_overwrite_argument(parser)
    parser.add_argument("--keep-work", action="store_true", help="keep the intermediate files in OUTPUT/_work")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    return run_pipeline("dedup", args.output, lambda: dedup(load_config(args.config), args.input, args.output, args.stage,
                                                            args.in_process, args.ray_address, args.keep_work,
                                                            args.overwrite), [args.input])

