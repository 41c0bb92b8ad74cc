"""The SFT-data pipeline's steps and its per-file task (paper §4.1.1):

    SftReader → SftCleaner → SftScorer (when ``scoring`` hooks are set)    one task per input file: clean_task
      → Decontaminate (when ``decontamination.benchmarks`` are set)
    then dedup over all files together                                     operators/dedup/whole_set.py
"""

from __future__ import annotations


from common.config_check import build
from operators.decontamination.filter import Decontaminate
from operators.sft.cleaning import SftCleaner
from operators.sft.reader import SftReader
from operators.sft.scoring import SftScorer
from pipelines.runtime.executor import StepList, file_to_parquet
from pipelines.runtime.record_files import FileItem, FileResult
from pipelines.sft.curation_config import SftConfig

DEDUP_STEP = "sft_dedup"


def sft_steps(config: SftConfig) -> StepList:
    operators = [SftCleaner(config.cleaning)]
    if config.scoring:
        operators.append(SftScorer(config.scoring))
    if config.decontamination.enabled:
        operators.append(Decontaminate(config.decontamination, text_columns=("messages",), message_columns=("messages",)))
    return StepList.of(SftReader(config.reader), *operators)


def clean_task(item: FileItem) -> FileResult:
    return FileResult(*file_to_parquet(sft_steps(build(SftConfig, item.config)), item.location, item.kept))
