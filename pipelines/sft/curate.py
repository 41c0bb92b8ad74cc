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

import json
import os
from typing import List, Optional

from common.atomic_io import atomic_write, finish_run
from operators.sft.scoring import load_function
from operators.stats import PipelineStats
from operators.dedup.whole_set import DEDUP_REASONS, dedup_reasons
from pipelines.runtime.cli import record_job_main
from pipelines.runtime.record_files import filter_record_files
from pipelines.sft.curation_config import SftConfig, load_sft_config
from pipelines.sft.steps import DEDUP_STEP, clean_task, sft_steps

PIPELINE_NAME = "curate_sft"


def curate_sft(config: SftConfig, inputs: List[str], output: str, in_process: bool = False,
               ray_address: Optional[str] = None, overwrite: bool = False) -> PipelineStats:
    for hook in config.scoring:  # a bad hook is one error before any work
        load_function(hook.function, f"scoring.{hook.name}.function")
    filtered = filter_record_files(PIPELINE_NAME, config, inputs, output, clean_task, sft_steps(config).names + [DEDUP_STEP],
                                   "clean_sft", in_process, ray_address, overwrite)
    output, stats, table = filtered.output, filtered.stats, filtered.table
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
    stats.details["decontamination"] = config.decontamination.describe()
    finish_run(output, stats, f"SFT data statistics of {os.path.basename(output)}")
    return stats


def main(argv: Optional[List[str]] = None) -> int:
    return record_job_main(argv, PIPELINE_NAME, __doc__.splitlines()[0], "configs/sft.yaml", load_sft_config, curate_sft,
                           output_default="sft", output_help="output folder (default: %(default)s, where launch/sft.py looks)")
