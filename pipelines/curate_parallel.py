"""Curate parallel corpora into translation-template text for pretraining (paper §3.1.2, Table 13).

    python pipelines/curate_parallel.py --input opus/en-de.tmx.gz ccaligned/en_XX-de_DE.tsv.xz \\
        --src en --tgt de --output out/parallel [--laser-dir models/laser] [--config FILE]
    ray job submit --working-dir . -- python pipelines/curate_parallel.py --input ... --src en --tgt de --output ...

Per input file (Ray Data tasks, or a loop with ``--in-process``): read (``operators/bitext_reader.py``)
-> heuristic pair filters (``operators/pair_filters.py``) -> LASER margin (``operators/laser.py``, when
``--laser-dir`` / ``laser.model_dir`` is given). Then, over all files in input order, pair dedup:
a pair is dropped when its normalized pair (``dup:pair``), source (``dup:source``) or target
(``dup:target``) already occurred in a kept pair (normalized: lowercase, only letters and digits).
Last, each kept pair becomes ``text`` in one of Table 13's templates, drawn per pair from a seeded
RNG (``operators/translation_templates.py``); ``templates.directions: both`` adds the reverse.

Output: ``OUT/<src>-<tgt>/part-NNNNN.parquet`` (one per input file: ``text``, ``template_id``,
``src_lang``, ``tgt_lang``, ``src_text``, ``tgt_text``, the scores, ``id``) and ``OUT/stats.json``.
Without LASER models the pipeline runs the heuristics only: ``stats.json`` (``details.laser``) and
every shard's Parquet metadata (``curation.laser``) say so.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import xxhash  # noqa: E402

from operators.bitext_reader import BitextReader  # noqa: E402
from operators.config_check import ConfigError, build  # noqa: E402
from operators.laser import LaserScorer  # noqa: E402
from operators.pair_filters import PairFilter, squeezed  # noqa: E402
from operators.runner import OperatorRunner, SourceRunner  # noqa: E402
from operators.stats import PipelineStats  # noqa: E402
from pipelines.ray_stats import publish_stats  # noqa: E402
from operators.translation_templates import choose_template, render  # noqa: E402
from pipelines.cli import add_ray_arguments, run_pipeline  # noqa: E402
from pipelines.parallel_config import ParallelConfig, load_config  # noqa: E402
from pipelines.ray_session import init_ray  # noqa: E402
from pipelines.stats_report import write_report  # noqa: E402
from pipelines.task_map import map_items, run_stage  # noqa: E402

log = logging.getLogger("curate_parallel")
DEDUP_REASONS = ("dup:pair", "dup:source", "dup:target")
# Pairs handed to LASER at once, in margin batches: 50 x 1,000 by default.
LASER_CHUNK_BATCHES = 50


def _config_from(item: dict) -> ParallelConfig:
    return build(ParallelConfig, item["config"])


def _key(text: str) -> int:
    return xxhash.xxh3_64_intdigest(squeezed(text).encode("utf-8"))


def _with_keys(table: pa.Table) -> pa.Table:
    sources, targets = table.column("src_text").to_pylist(), table.column("tgt_text").to_pylist()
    table = table.append_column("src_key", pa.array([_key(s) for s in sources], type=pa.uint64()))
    table = table.append_column("tgt_key", pa.array([_key(t) for t in targets], type=pa.uint64()))
    return table.append_column("pair_key", pa.array([_key(s + "\t" + t) for s, t in zip(sources, targets)],
                                                    type=pa.uint64()))


def _chunks(tables, rows: int):
    """Regroup a stream of tables into tables of ``rows`` rows; the last one takes the remainder
    (a remainder shorter than ``rows`` joins the chunk before it, as LASER batches do)."""
    pending, count = [], 0
    for table in tables:
        if not table.num_rows:
            continue
        pending.append(table)
        count += table.num_rows
        while count >= 2 * rows:
            merged = pa.concat_tables(pending)
            yield merged.slice(0, rows)
            pending, count = [merged.slice(rows)], count - rows
    if pending:
        yield pa.concat_tables(pending)


def filter_task(item: dict) -> dict:
    """Read one input, apply the pair filters (and LASER), stream the survivors with dedup keys to
    Parquet; memory stays within a chunk of LASER_CHUNK_BATCHES margin batches whatever the file size."""
    config = _config_from(item)
    stats = PipelineStats()
    source = SourceRunner(BitextReader(config.reader), stats)
    pair_filter = OperatorRunner(PairFilter(config.pair_filter), stats)
    laser = OperatorRunner(LaserScorer(config.laser), stats) if config.laser.enabled else None
    filtered = (pair_filter(t) for t in source(pa.table({"path": [item["location"]]})))
    writer, rows = None, 0
    try:
        for chunk in _chunks(filtered, LASER_CHUNK_BATCHES * config.laser.batch_size):
            if laser is not None:
                chunk = laser(chunk)
            if not chunk.num_rows:
                continue
            chunk = _with_keys(chunk)
            if writer is None:
                os.makedirs(os.path.dirname(item["filtered"]), exist_ok=True)
                writer = pq.ParquetWriter(item["filtered"] + ".inprogress", chunk.schema)
            writer.write_table(chunk.cast(writer.schema))
            rows += chunk.num_rows
    finally:
        if writer is not None:
            writer.close()
    if writer is not None:
        os.replace(item["filtered"] + ".inprogress", item["filtered"])
    return {"stats": stats.to_dict(), "rows": rows}


def dedup_keys(filtered: List[Optional[str]]) -> List[List[Optional[str]]]:
    """Per file, one reason (or None) per row: the first occurrence in input order is kept."""
    seen_pairs, seen_sources, seen_targets = set(), set(), set()
    reasons: List[List[Optional[str]]] = []
    for path in filtered:
        if path is None:
            reasons.append([])
            continue
        keys = pq.read_table(path, columns=["src_key", "tgt_key", "pair_key"])
        file_reasons: List[Optional[str]] = []
        for src, tgt, pair in zip(*(keys.column(c).to_pylist() for c in ("src_key", "tgt_key", "pair_key"))):
            reason = ("dup:pair" if pair in seen_pairs else "dup:source" if src in seen_sources
                      else "dup:target" if tgt in seen_targets else None)
            if reason is None:
                seen_pairs.add(pair)
                seen_sources.add(src)
                seen_targets.add(tgt)
            file_reasons.append(reason)
        reasons.append(file_reasons)
    return reasons


def render_task(item: dict) -> dict:
    config = _config_from(item)
    table = pq.read_table(item["filtered"]).filter(pa.array([r is None for r in item["reasons"]]))
    rows = table.drop_columns(["src_key", "tgt_key", "pair_key"]).to_pylist()
    out = []
    seed = config.templates.seed
    for row in rows:
        directions = [(row["src_lang"], row["tgt_lang"], row["src_text"], row["tgt_text"])]
        if config.templates.directions == "both":
            directions.append((row["tgt_lang"], row["src_lang"], row["tgt_text"], row["src_text"]))
        for number, (src_lang, tgt_lang, source, target) in enumerate(directions):
            template = choose_template(seed, src_lang, tgt_lang, source, target)
            out.append({**row, "id": f"{row['id']}-{number}", "text": render(template, src_lang, tgt_lang, source, target),
                        "template_id": template, "src_lang": src_lang, "tgt_lang": tgt_lang,
                        "src_text": source, "tgt_text": target})
    table = pa.Table.from_pylist(out) if out else None
    if table is not None:
        table = table.replace_schema_metadata({"curation.laser": item["laser"], "curation.pipeline": "curate_parallel"})
        os.makedirs(os.path.dirname(item["output"]), exist_ok=True)
        pq.write_table(table, item["output"] + ".inprogress", compression="zstd")
        os.replace(item["output"] + ".inprogress", item["output"])
    return {"texts": len(out), "templates": dict(sorted(Counter(r["template_id"] for r in out).items()))}


def curate_parallel(config: ParallelConfig, inputs: List[str], output: str, in_process: bool = False,
                    ray_address: Optional[str] = None) -> PipelineStats:
    if not inputs:
        raise ConfigError("--input: no input files")
    reader = BitextReader(config.reader)
    for location in inputs:
        reader.check_location(location)
    output = os.path.abspath(output)
    work = os.path.join(output, "_work")
    if not in_process:
        init_ray(ray_address, config.num_cpus)
    config_data = asdict(config)
    pair = f"{config.reader.src}-{config.reader.tgt}"
    laser = (f"LASER margin >= {config.laser.min_margin} (k={config.laser.k}) with {config.laser.model_dir}"
             if config.laser.enabled else "not applied: no LASER models given (heuristic filters only)")
    filtered = [os.path.join(work, "filtered", f"part-{i:05d}.parquet") for i in range(len(inputs))]
    results = run_stage(work, "filter", filter_task,
                        [{"location": loc, "config": config_data, "filtered": f} for loc, f in zip(inputs, filtered)],
                        not in_process)
    stats = PipelineStats(["bitext_reader", "pair_filter"] + (["laser"] if config.laser.enabled else []) + ["pair_dedup"])
    for result in results:
        stats.merge(PipelineStats.from_dict(result["stats"]))
    if not in_process:
        publish_stats("curate_parallel", stats, [op.name for op in stats.operators if op.name != "pair_dedup"], work)
    present = [f if r["rows"] else None for f, r in zip(filtered, results)]
    reasons = dedup_keys(present)
    flat = [r for rs in reasons for r in rs]
    stats.add("pair_dedup", len(flat), sum(r is None for r in flat), {k: flat.count(k) for k in DEDUP_REASONS})
    if not in_process:
        publish_stats("curate_parallel", stats, ["pair_dedup"], work)
    items = [{"filtered": f, "reasons": rs, "config": config_data, "laser": laser,
              "output": os.path.join(output, pair, f"part-{i:05d}.parquet")}
             for i, (f, rs) in enumerate(zip(present, reasons)) if f is not None]
    rendered = map_items(render_task, items, not in_process, "render_templates")
    templates: Counter = Counter()
    for result in rendered:
        templates.update(result["templates"])
    stats.add_kept({pair: sum(r["texts"] for r in rendered)})
    stats.details["parallel"] = {"laser": laser, "directions": config.templates.directions,
                                 "template_counts": dict(sorted(templates.items()))}
    stats.check()
    with open(os.path.join(output, "stats.json"), "w", encoding="utf-8") as handle:
        handle.write(stats.to_json())
    write_report(stats.to_dict(), output, f"Parallel-data statistics of {os.path.basename(os.path.abspath(output))}")
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
    parser.add_argument("--laser-dir", help="folder with the LASER model files (default: heuristics only)")
    parser.add_argument("--config", help="YAML config (see configs/parallel.yaml)")
    add_ray_arguments(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)

    def job() -> PipelineStats:
        config = load_config(args.config, src=args.src, tgt=args.tgt, format=args.format, laser_dir=args.laser_dir)
        stats = curate_parallel(config, args.input, args.output, args.in_process, args.ray_address)
        log.info("%s", json.dumps(stats.details["parallel"], ensure_ascii=False))
        return stats

    return run_pipeline("curate_parallel", args.output, job)


if __name__ == "__main__":
    sys.exit(main())
