"""The parallel-data pipeline's steps and its per-file tasks (paper §3.1.2, Table 13):

    BitextReader → PairFilter → SimilarityScorer (unless laser has no models)   one task per input file: filter_task
      → Decontaminate (when decontamination.benchmarks are set; both sides)
    pair dedup over all files, in input order                                   dedup_reasons
    Table 13 templates                                                          one task per file: render_task

Pair dedup: a pair is dropped when its normalized pair (``dup:pair``), source (``dup:source``) or target
(``dup:target``) already occurred in a kept pair (normalized: lowercase, only letters and digits). Each kept
pair becomes ``text`` in one of Table 13's templates, drawn per pair from a seeded RNG
(``operators/parallel/translation_templates.py``); ``templates.directions: both`` adds the reverse.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

from common.atomic_io import ParquetStream, write_parquet
from common.config_check import build
from operators.decontamination.filter import Decontaminate
from operators.drop_samples import DropSampling, candidates
from operators.parallel.bitext_reader import BitextReader
from operators.parallel.pair_filters import PairFilter, squeezed
from operators.parallel.similarity import SimilarityScorer
from operators.parallel.translation_templates import choose_template, render
from operators.stats import PipelineStats
from pipelines.parallel.config import ParallelConfig
from pipelines.runtime.executor import InProcessExecutor, Step, StepList

DEDUP_REASONS = ("dup:pair", "dup:source", "dup:target")
DEDUP_STEP = "pair_dedup"
# Pairs handed to the encoder at once, in margin batches: 50 x 1,000 by default (memory stays within one such
# group whatever the file size).
SIMILARITY_CHUNK_BATCHES = 50
KEY_COLUMNS = ["src_key", "tgt_key", "pair_key"]


def parallel_steps(config: ParallelConfig) -> StepList:
    steps = [Step(PairFilter(config.pair_filter))]
    if config.similarity.enabled:
        steps.append(Step(SimilarityScorer(config.similarity),
                          batch_rows=SIMILARITY_CHUNK_BATCHES * config.similarity.batch_size))
    if config.decontamination.enabled:
        steps.append(Step(Decontaminate(config.decontamination, text_columns=("src_text", "tgt_text"),
                                        lang_columns=("src_lang", "tgt_lang"))))
    return StepList.of(BitextReader(config.reader), *steps, drops=config.drops)


def _key(text: str) -> int:
    return xxhash.xxh3_64_intdigest(squeezed(text).encode("utf-8"))


def _with_keys(table: pa.Table) -> pa.Table:
    sources, targets = table.column("src_text").to_pylist(), table.column("tgt_text").to_pylist()
    table = table.append_column("src_key", pa.array([_key(s) for s in sources], type=pa.uint64()))
    table = table.append_column("tgt_key", pa.array([_key(t) for t in targets], type=pa.uint64()))
    return table.append_column("pair_key", pa.array([_key(s + "\t" + t) for s, t in zip(sources, targets)],
                                                    type=pa.uint64()))


@dataclass
class FilterItem:
    location: str
    config: dict        # asdict(ParallelConfig)
    filtered: str       # where the surviving pairs (with their dedup keys) go


@dataclass
class FilterResult:
    stats: dict
    rows: int
    drops: dict = field(default_factory=dict)   # the file's sampled dropped pairs: {"per_key", "rows"}


def filter_task(item: FilterItem) -> FilterResult:
    """Read one input, filter its pairs (and score their similarity), stream the survivors with their dedup
    keys to Parquet."""
    stats = PipelineStats()
    steps = parallel_steps(build(ParallelConfig, item.config))
    with ParquetStream(item.filtered) as out:
        for table in InProcessExecutor().stream(steps, [item.location], stats):
            out.write(_with_keys(table))
    return FilterResult(stats.to_dict(), out.rows, stats.drop_samples.payload())


def dedup_drop_candidates(filtered: List[Optional[str]], reasons: List[List[Optional[str]]],
                          sampling: DropSampling) -> list:
    """The pair-dedup step's candidates for the sample of dropped pairs, file by file."""
    rows: list = []
    for path, file_reasons in zip(filtered, reasons):
        if path is not None and any(file_reasons):
            table = pq.read_table(path).drop_columns(KEY_COLUMNS)
            rows.extend(candidates(DEDUP_STEP, table, file_reasons, "id", sampling))
    return rows


def dedup_reasons(filtered: List[Optional[str]]) -> List[List[Optional[str]]]:
    """Per file (None: nothing survived), one reason (or None) per row: the first occurrence in input order
    is kept."""
    seen_pairs, seen_sources, seen_targets = set(), set(), set()
    reasons: List[List[Optional[str]]] = []
    for path in filtered:
        if path is None:
            reasons.append([])
            continue
        keys = pq.read_table(path, columns=KEY_COLUMNS)
        file_reasons: List[Optional[str]] = []
        for src, tgt, pair in zip(*(keys.column(c).to_pylist() for c in KEY_COLUMNS)):
            reason = ("dup:pair" if pair in seen_pairs else "dup:source" if src in seen_sources
                      else "dup:target" if tgt in seen_targets else None)
            if reason is None:
                seen_pairs.add(pair)
                seen_sources.add(src)
                seen_targets.add(tgt)
            file_reasons.append(reason)
        reasons.append(file_reasons)
    return reasons


@dataclass
class RenderItem:
    filtered: str
    reasons: List[Optional[str]]
    config: dict
    similarity: str     # config.similarity.describe()
    output: str


@dataclass
class RenderResult:
    texts: int
    templates: Dict[str, int] = field(default_factory=dict)


def render_task(item: RenderItem) -> RenderResult:
    config = build(ParallelConfig, item.config)
    table = pq.read_table(item.filtered).filter(pa.array([r is None for r in item.reasons])).drop_columns(KEY_COLUMNS)
    # The filtered columns keep their types (sim_model stays a string where every pair went unscored).
    schema = table.schema.append(pa.field("text", pa.string())).append(pa.field("template_id", pa.string()))
    out = []
    for row in table.to_pylist():
        directions = [(row["src_lang"], row["tgt_lang"], row["src_text"], row["tgt_text"])]
        if config.templates.directions == "both":
            directions.append((row["tgt_lang"], row["src_lang"], row["tgt_text"], row["src_text"]))
        for number, (src_lang, tgt_lang, source, target) in enumerate(directions):
            template = choose_template(config.templates.seed, src_lang, tgt_lang, source, target)
            out.append({**row, "id": f"{row['id']}-{number}", "text": render(template, src_lang, tgt_lang, source, target),
                        "template_id": template, "src_lang": src_lang, "tgt_lang": tgt_lang,
                        "src_text": source, "tgt_text": target})
    if out:
        table = pa.Table.from_pylist(out, schema=schema).replace_schema_metadata(
            {"curation.similarity": item.similarity, "curation.pipeline": "curate_parallel"})
        write_parquet(table, item.output)
    return RenderResult(len(out), dict(sorted(Counter(r["template_id"] for r in out).items())))
