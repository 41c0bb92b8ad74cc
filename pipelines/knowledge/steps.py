"""The knowledge pipeline's steps and its per-file task (paper §3.1.3):

    KnowledgeReader → LanguageIdFilter (not for code) → QualityFilter (the kind's rules) → Decontaminate
                                                                         one task per input file: filter_task
    then dedup over all files together (exact, MinHash, SimHash, semantic) operators/dedup/whole_set.py
"""

from __future__ import annotations

import pyarrow as pa

from common.config_check import build
from operators.base import Mapper
from operators.decontamination.filter import Decontaminate
from operators.knowledge.reader import KnowledgeReader
from operators.web.langid import LanguageIdFilter
from operators.web.quality_filter import QualityFilter
from pipelines.knowledge.config import KnowledgeConfig
from pipelines.runtime.executor import StepList, file_to_parquet
from pipelines.runtime.record_files import FileItem, FileResult

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


def filter_task(item: FileItem) -> FileResult:
    steps = knowledge_steps(build(KnowledgeConfig, item.config))
    return FileResult(*file_to_parquet(steps, item.location, item.kept, columns=("id", "text", "lang", "source")))
