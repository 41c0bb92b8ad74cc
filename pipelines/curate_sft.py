"""Clean and deduplicate instruction data for multilingual SFT (paper §4.1.1).

    python pipelines/curate_sft.py --input data/alpaca.jsonl data/sharegpt/ --output sft/ [--config configs/sft.yaml]
    ray job submit --working-dir . -- python pipelines/curate_sft.py --input s3-synced/ --output sft/

1. **Read and clean**, one task per input file (Ray Data, or in-process with ``--in-process``):
   messages / Alpaca / ShareGPT records into one conversation format (``operators/sft_reader.py``), the
   cleaning rules (``operators/sft_cleaning.py``), then the scoring hooks (``operators/sft_scoring.py``).
2. **Deduplicate** the survivors of all files together (``pipelines/sft_dedup.py``): exact instruction,
   MinHash, SimHash, and embedding similarity when a model is given.
3. **Write** ``OUT/sft.jsonl`` (``{"id", "messages", "lang", "source", "score_*"}``, in input order),
   ``OUT/stats.json`` (documents in / out / dropped per reason for every step) and ``OUT/report.html``.

Inputs: files (``.jsonl``/``.json`` lines, optionally compressed, or ``.parquet``), folders (searched
for them) or globs.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
from dataclasses import asdict
from typing import List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from operators.config_check import ConfigError, build  # noqa: E402
from operators.runner import OperatorRunner, SourceRunner  # noqa: E402
from operators.sft_cleaning import SftCleaner  # noqa: E402
from operators.sft_reader import SftReader  # noqa: E402
from operators.sft_scoring import SftScorer, load_function  # noqa: E402
from operators.stats import PipelineStats  # noqa: E402
from pipelines.cli import add_ray_arguments, run_pipeline  # noqa: E402
from pipelines.ray_session import init_ray  # noqa: E402
from pipelines.sft_config import SftConfig, load_sft_config  # noqa: E402
from pipelines.sft_dedup import DEDUP_REASONS, dedup_reasons  # noqa: E402
from pipelines.stats_report import write_report  # noqa: E402
from pipelines.task_map import map_items  # noqa: E402

PIPELINE_NAME = "curate_sft"
SUFFIXES = (".jsonl", ".json", ".parquet")
COMPRESSED = ("", ".gz", ".xz", ".bz2", ".zst")


def _is_input(path: str) -> bool:
    return any(path.endswith(s + c) for s in SUFFIXES for c in COMPRESSED if not (s == ".parquet" and c))


def expand_inputs(inputs: List[str]) -> List[str]:
    found: List[str] = []
    for spec in inputs:
        if os.path.isdir(spec):
            matches = sorted(p for p in glob.glob(os.path.join(spec, "**", "*"), recursive=True) if _is_input(p))
        elif os.path.isfile(spec):
            matches = [spec]
        else:
            matches = sorted(p for p in glob.glob(spec) if os.path.isfile(p))
        if not matches:
            raise ConfigError(f"--input: nothing to read at {spec}")
        found.extend(os.path.abspath(p) for p in matches)
    return list(dict.fromkeys(found))


def clean_task(item: dict) -> dict:
    config = build(SftConfig, item["config"])
    stats = PipelineStats()
    source = SourceRunner(SftReader(config.reader), stats)
    steps = [OperatorRunner(SftCleaner(config.cleaning), stats)]
    if config.scoring:
        steps.append(OperatorRunner(SftScorer(config.scoring), stats))
    tables = []
    for table in source(pa.table({"path": [item["location"]]})):
        for step in steps:
            table = step(table)
        if table.num_rows:
            tables.append(table)
    rows = 0
    if tables:
        os.makedirs(os.path.dirname(item["kept"]), exist_ok=True)
        table = pa.concat_tables(tables, promote_options="default")
        pq.write_table(table, item["kept"] + ".inprogress")
        os.replace(item["kept"] + ".inprogress", item["kept"])
        rows = table.num_rows
    return {"stats": stats.to_dict(), "rows": rows}


def curate_sft(config: SftConfig, inputs: List[str], output: str, in_process: bool = False,
               ray_address: Optional[str] = None) -> PipelineStats:
    locations = expand_inputs(inputs)
    for hook in config.scoring:  # a bad hook is one error before any work
        load_function(hook.function, f"scoring.{hook.name}.function")
    output = os.path.abspath(output)
    work = os.path.join(output, "_work")
    if not in_process:
        init_ray(ray_address, config.num_cpus)
    items = [{"location": loc, "config": asdict(config), "kept": os.path.join(work, f"part-{i:05d}.parquet")}
             for i, loc in enumerate(locations)]
    results = map_items(clean_task, items, not in_process, "clean_sft")
    names = ["sft_reader", "sft_cleaning"] + (["sft_scoring"] if config.scoring else []) + ["sft_dedup"]
    stats = PipelineStats(names)
    for result in results:
        stats.merge(PipelineStats.from_dict(result["stats"]))
    kept = [pq.read_table(item["kept"]) for item, result in zip(items, results) if result["rows"]]
    table = pa.concat_tables(kept, promote_options="default") if kept else None
    rows = table.to_pylist() if table is not None else []
    reasons = dedup_reasons([r["instruction"] for r in rows], [r["lang"] for r in rows], config.dedup)
    stats.add("sft_dedup", len(rows), sum(r is None for r in reasons),
              {k: reasons.count(k) for k in DEDUP_REASONS if k in reasons})
    os.makedirs(output, exist_ok=True)
    kept_per_language: dict = {}
    with open(os.path.join(output, "sft.jsonl.tmp"), "w", encoding="utf-8") as handle:
        for row, reason in zip(rows, reasons):
            if reason is None:
                record = {k: v for k, v in row.items() if k != "instruction"}
                record["messages"] = json.loads(record["messages"])
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                lang = row["lang"] or "und"
                kept_per_language[lang] = kept_per_language.get(lang, 0) + 1
    os.replace(os.path.join(output, "sft.jsonl.tmp"), os.path.join(output, "sft.jsonl"))
    stats.add_kept(kept_per_language)
    stats.check()
    with open(os.path.join(output, "stats.json"), "w", encoding="utf-8") as handle:
        handle.write(stats.to_json())
    write_report(stats.to_dict(), output, f"SFT data statistics of {os.path.basename(output)}")
    return stats


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", nargs="+", required=True, help="files, folders or globs")
    parser.add_argument("--output", required=True)
    parser.add_argument("--config", help="configs/sft.yaml")
    parser.add_argument("--num-cpus", type=int, help="CPUs of the embedded Ray (default: all)")
    add_ray_arguments(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)

    def job() -> PipelineStats:
        config = load_sft_config(args.config)
        if args.num_cpus is not None:
            config.num_cpus = args.num_cpus
        return curate_sft(config, args.input, args.output, args.in_process, args.ray_address)

    return run_pipeline(PIPELINE_NAME, args.output, job)


if __name__ == "__main__":
    sys.exit(main())
