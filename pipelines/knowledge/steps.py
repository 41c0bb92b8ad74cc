"""The knowledge pipeline's steps and its per-file task (paper §3.1.3):

    KnowledgeReader → LanguageIdFilter (not for code) → QualityFilter (the kind's rules) → Decontaminate
                                                                         one task per input file: filter_task
    then dedup over all files together (exact, MinHash, SimHash, semantic) operators/dedup/whole_set.py
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from common.atomic_io import write_parquet
from common.config_check import build
from operators.base import Mapper
from operators.decontamination.filter import Decontaminate
from operators.knowledge.reader import KnowledgeReader
from operators.stats import PipelineStats
from operators.web.langid import LanguageIdFilter
from operators.web.quality_filter import QualityFilter
from pipelines.knowledge.config import KnowledgeConfig
from pipelines.runtime.executor import InProcessExecutor, StepList

PIPELINE_NAME = "curate_knowledge"
DEDUP_STEP = "knowledge_dedup"
CODE = "code"


class CodeLanguage(Mapper):
    """Code is not language-identified: a record keeps the reader's language, else ``code``."""

    name = "code_language"

    def transform(self, batch: pa.Table) -> pa.Table:
        langs = [lang or CODE for lang in batch.column("lang").to_pylist()]
        return batch.set_column(batch.column_names.index("lang"), "lang", pa.array(langs, type=pa.string()))


def knowledge_steps(config: KnowledgeConfig) -> StepList:
    first = CodeLanguage() if config.kind == "code" else LanguageIdFilter(config.langid)
    operators = [first, QualityFilter(config.quality_config())]
    if config.decontamination.enabled:
        operators.append(Decontaminate(config.decontamination))
    return StepList.of(KnowledgeReader(config.reader), *operators)


@dataclass
class FilterItem:
    location: str
    config: dict        # asdict(KnowledgeConfig)
    kept: str           # where the file's survivors go


@dataclass
class FilterResult:
    stats: dict
    rows: int


def filter_task(item: FilterItem) -> FilterResult:
    stats = PipelineStats()
    steps = knowledge_steps(build(KnowledgeConfig, item.config))
    tables = [t.select(["id", "text", "lang", "source"]) for t in InProcessExecutor().stream(steps, [item.location], stats)]
    tables = [t for t in tables if t.num_rows]
    if not tables:
        return FilterResult(stats.to_dict(), 0)
    table = pa.concat_tables(tables)
    write_parquet(table, item.kept)
    return FilterResult(stats.to_dict(), table.num_rows)
