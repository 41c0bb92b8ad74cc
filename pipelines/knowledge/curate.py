"""Curate knowledge data — QA, STEM, math and code sets exported from Hugging Face (paper §3.1.3: "filters to
remove data with low quality and the data from common benchmarks", "n-gram deduplication and semantic
deduplication").

    python pipelines/curate_knowledge.py --input exports/mmlu_aux/ exports/gsm8k.jsonl --output knowledge/ \
        [--config configs/knowledge.yaml]
    ray job submit --working-dir . -- python pipelines/curate_knowledge.py --input ... --output ...

1. **Read and filter**, one task per input file (Ray, or in-process with ``--in-process``): records into
   documents with the field mapping (``operators/knowledge/reader.py``), language ID (not for code), the
   quality rules that fit the data's kind (``operators/knowledge/quality_presets.py``), benchmark
   decontamination (``operators/decontamination/``).
2. **Deduplicate** the survivors of all files together (``operators/dedup/whole_set.py``): exact text, MinHash
   over word 3-grams, SimHash, and semantic (Universal Sentence Encoder by default).
3. **Write** ``OUT/<category>_<lang>/part-NNNNN.parquet`` (``id``, ``text``, ``lang``, ``source``), in input
   order — the layout ``tokenize_shards.py`` reads, with groups ``knowledge_en``, ``knowledge_zh``... that
   ``configs/mixture.yaml``'s ``knowledge`` category names — plus ``OUT/stats.json`` and ``OUT/report.html``.

Inputs: files (``.jsonl``/``.json`` lines, optionally compressed, ``.parquet``, ``.arrow``), folders (a
``datasets.save_to_disk`` folder included) or globs.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import asdict
from typing import List, Optional

import pyarrow as pa
import pyarrow.parquet as pq

from common.atomic_io import check_plan, finish_run, write_parquet
from common.fingerprints import files_identity, settings_plan
from operators.decontamination.filter import prepare as prepare_decontamination
from operators.dedup.whole_set import DEDUP_REASONS, dedup_reasons
from operators.stats import PipelineStats
from pipelines.knowledge.config import KnowledgeConfig, load_knowledge_config
from pipelines.knowledge.steps import DEDUP_STEP, PIPELINE_NAME, FilterItem, filter_task, knowledge_steps
from pipelines.runtime.cli import add_overwrite_argument, add_ray_arguments, run_pipeline
from pipelines.runtime.local_inputs import expand_record_files
from pipelines.runtime.ray_session import init_ray
from pipelines.runtime.task_map import map_items


def curate_knowledge(config: KnowledgeConfig, inputs: List[str], output: str, in_process: bool = False,
                     ray_address: Optional[str] = None, overwrite: bool = False) -> PipelineStats:
    locations = expand_record_files(inputs)
    output = os.path.abspath(output)
    work = os.path.join(output, "_work")
    check_plan(output, {"pipeline": PIPELINE_NAME, "inputs": files_identity(locations),
                        **settings_plan(config, drop=["num_cpus"])}, overwrite)
    prepare_decontamination(config.decontamination)   # the benchmark index, once, before any work
    if not in_process:
        init_ray(ray_address, config.num_cpus)
    items = [FilterItem(loc, asdict(config), os.path.join(work, f"part-{i:05d}.parquet"))
             for i, loc in enumerate(locations)]
    results = map_items(filter_task, items, not in_process, "filter_knowledge")
    stats = PipelineStats(knowledge_steps(config).names + [DEDUP_STEP])
    for result in results:
        stats.merge(PipelineStats.from_dict(result.stats))
    kept = [pq.read_table(item.kept) for item, result in zip(items, results) if result.rows]
    table = pa.concat_tables(kept) if kept else None
    texts = table.column("text").to_pylist() if table is not None else []
    langs = table.column("lang").to_pylist() if table is not None else []
    reasons = dedup_reasons(texts, langs, config.dedup)
    stats.add(DEDUP_STEP, len(texts), sum(r is None for r in reasons),
              {k: reasons.count(k) for k in DEDUP_REASONS if k in reasons})
    kept_per_group: dict = {}
    if table is not None:
        survivors = table.filter(pa.array([r is None for r in reasons]))
        for lang in sorted(set(survivors.column("lang").to_pylist())):
            rows = survivors.filter(pa.compute.equal(survivors.column("lang"), lang))
            group = f"{config.category}_{lang}"
            for number, start in enumerate(range(0, rows.num_rows, config.rows_per_file)):
                write_parquet(rows.slice(start, config.rows_per_file),
                              os.path.join(output, group, f"part-{number:05d}.parquet"))
            kept_per_group[group] = rows.num_rows
    stats.add_kept(kept_per_group)
    finish_run(output, stats, f"Knowledge data statistics of {os.path.basename(output)}")
    return stats


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", nargs="+", required=True, help="files, folders or globs")
    parser.add_argument("--output", required=True, help="output folder")
    parser.add_argument("--config", help="configs/knowledge.yaml")
    parser.add_argument("--num-cpus", type=int, help="CPUs of the embedded Ray (default: all)")
    add_ray_arguments(parser)
    add_overwrite_argument(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)

    def job() -> PipelineStats:
        config = load_knowledge_config(args.config)
        if args.num_cpus is not None:
            config.num_cpus = args.num_cpus
        return curate_knowledge(config, args.input, args.output, args.in_process, args.ray_address, args.overwrite)

    return run_pipeline(PIPELINE_NAME, args.output, job, args.input)
