"""Clean and deduplicate instruction data for multilingual SFT (paper §4.1.1).

    python pipelines/curate_sft.py --input data/alpaca.jsonl data/sharegpt/ --output sft/ [--config configs/sft.yaml]
    ray job submit --working-dir . -- python pipelines/curate_sft.py --input s3-synced/ --output sft/

1. **Read and clean**, one task per input file (Ray Data, or in-process with ``--in-process``):
   messages / Alpaca / ShareGPT records into one conversation format (``operators/sft/reader.py``), the
   cleaning rules (``operators/sft/cleaning.py``), then the scoring hooks (``operators/sft/scoring.py``).
2. **Deduplicate** the survivors of all files together (``operators/dedup/whole_set.py``): exact instruction,
   MinHash, SimHash, and embedding similarity when a model is given.
3. **Write** ``OUT/sft.jsonl`` (``{"id", "messages", "lang", "source", "score_*"}``, in input order),
   ``OUT/stats.json`` (documents in / out / dropped per reason for every step) and ``OUT/report.html``.

Inputs: files (``.jsonl``/``.json`` lines, optionally compressed, or ``.parquet``), folders (searched
for them) or globs.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict
from typing import List, Optional

import pyarrow as pa
import pyarrow.parquet as pq

from common.atomic_io import atomic_write, check_plan, finish_run
from common.fingerprints import files_identity, settings_plan
from operators.decontamination.filter import prepare as prepare_decontamination
from operators.sft.scoring import load_function
from operators.stats import PipelineStats
from pipelines.runtime.cli import add_overwrite_argument, add_ray_arguments, run_pipeline
from pipelines.runtime.local_inputs import expand_record_files
from pipelines.runtime.ray_session import init_ray
from pipelines.runtime.task_map import map_items
from pipelines.sft.curation_config import SftConfig, load_sft_config
from operators.dedup.whole_set import DEDUP_REASONS, dedup_reasons
from pipelines.sft.steps import DEDUP_STEP, CleanItem, clean_task, sft_steps

PIPELINE_NAME = "curate_sft"
def curate_sft(config: SftConfig, inputs: List[str], output: str, in_process: bool = False,
               ray_address: Optional[str] = None, overwrite: bool = False) -> PipelineStats:
    locations = expand_record_files(inputs)
    for hook in config.scoring:  # a bad hook is one error before any work
        load_function(hook.function, f"scoring.{hook.name}.function")
    output = os.path.abspath(output)
    work = os.path.join(output, "_work")
    check_plan(output, {"pipeline": PIPELINE_NAME, "inputs": files_identity(locations),
                        **settings_plan(config, drop=["num_cpus"])}, overwrite)
    prepare_decontamination(config.decontamination)   # the benchmark index, once, before any work
    if not in_process:
        init_ray(ray_address, config.num_cpus)
    items = [CleanItem(loc, asdict(config), os.path.join(work, f"part-{i:05d}.parquet"))
             for i, loc in enumerate(locations)]
    results = map_items(clean_task, items, not in_process, "clean_sft")
    stats = PipelineStats(sft_steps(config).names + [DEDUP_STEP])
    for result in results:
        stats.merge(PipelineStats.from_dict(result.stats))
    kept = [pq.read_table(item.kept) for item, result in zip(items, results) if result.rows]
    table = pa.concat_tables(kept, promote_options="default") if kept else None
    rows = table.to_pylist() if table is not None else []
    reasons = dedup_reasons([r["instruction"] for r in rows], [r["lang"] for r in rows], config.dedup)
    stats.add(DEDUP_STEP, len(rows), sum(r is None for r in reasons),
              {k: reasons.count(k) for k in DEDUP_REASONS if k in reasons})
    kept_per_language: dict = {}
    with atomic_write(os.path.join(output, "sft.jsonl")) as handle:
        for row, reason in zip(rows, reasons):
            if reason is None:
                record = {k: v for k, v in row.items() if k not in ("instruction", "contamination_coverage")}
                record["messages"] = json.loads(record["messages"])
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                lang = row["lang"] or "und"
                kept_per_language[lang] = kept_per_language.get(lang, 0) + 1
    stats.add_kept(kept_per_language)
    finish_run(output, stats, f"SFT data statistics of {os.path.basename(output)}")
    return stats


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", nargs="+", required=True, help="files, folders or globs")
    parser.add_argument("--output", default="sft",
                        help="output folder (default: %(default)s, where launch/sft.py looks)")
    parser.add_argument("--config", help="configs/sft.yaml")
    parser.add_argument("--num-cpus", type=int, help="CPUs of the embedded Ray (default: all)")
    add_ray_arguments(parser)
    add_overwrite_argument(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)

    def job() -> PipelineStats:
        config = load_sft_config(args.config)
        if args.num_cpus is not None:
            config.num_cpus = args.num_cpus
        return curate_sft(config, args.input, args.output, args.in_process, args.ray_address, args.overwrite)

    return run_pipeline(PIPELINE_NAME, args.output, job, args.input)

