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

import os
from typing import List, Optional

import pyarrow as pa

from common.atomic_io import finish_run, write_parquet
from operators.dedup.whole_set import DEDUP_REASONS, dedup_reasons
from operators.stats import PipelineStats
from pipelines.knowledge.config import KnowledgeConfig, load_knowledge_config
from pipelines.knowledge.steps import DEDUP_STEP, PIPELINE_NAME, filter_task, knowledge_steps
from pipelines.runtime.cli import record_job_main
from pipelines.runtime.record_files import filter_record_files


def curate_knowledge(config: KnowledgeConfig, inputs: List[str], output: str, in_process: bool = False,
                     ray_address: Optional[str] = None, overwrite: bool = False) -> PipelineStats:
    filtered = filter_record_files(PIPELINE_NAME, config, inputs, output, filter_task,
                                   knowledge_steps(config).names + [DEDUP_STEP], "filter_knowledge", in_process,
                                   ray_address, overwrite)
    output, stats, table = filtered.output, filtered.stats, filtered.table
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
    stats.details["decontamination"] = config.decontamination.describe()
    finish_run(output, stats, f"Knowledge data statistics of {os.path.basename(output)}")
    return stats


def main(argv: Optional[List[str]] = None) -> int:
    return record_job_main(argv, PIPELINE_NAME, __doc__.splitlines()[0], "configs/knowledge.yaml",
                           load_knowledge_config, curate_knowledge)
