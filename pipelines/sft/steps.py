"""The SFT-data pipeline's steps and its per-file task (paper §4.1.1):

    SftReader → SftCleaner → SftScorer (when ``scoring`` hooks are set)    one task per input file: clean_task
      → Decontaminate (when ``decontamination.benchmarks`` are set)
    then dedup over all files together                                     operators/dedup/whole_set.py
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from common.atomic_io import write_parquet
from common.config_check import build
from operators.decontamination.filter import Decontaminate
from operators.sft.cleaning import SftCleaner
from operators.sft.reader import SftReader
from operators.sft.scoring import SftScorer
from operators.stats import PipelineStats
from pipelines.runtime.executor import InProcessExecutor, StepList
from pipelines.sft.curation_config import SftConfig

DEDUP_STEP = "sft_dedup"


def sft_steps(config: SftConfig) -> StepList:
    operators = [SftCleaner(config.cleaning)]
    if config.scoring:
        operators.append(SftScorer(config.scoring))
    if config.decontamination.enabled:
        operators.append(Decontaminate(config.decontamination, text_columns=("messages",), message_columns=("messages",)))
    return StepList.of(SftReader(config.reader), *operators)


@dataclass
class CleanItem:
    location: str
    config: dict        # asdict(SftConfig)
    kept: str           # where the file's surviving conversations go


@dataclass
class CleanResult:
    stats: dict
    rows: int


def clean_task(item: CleanItem) -> CleanResult:
    stats = PipelineStats()
    steps = sft_steps(build(SftConfig, item.config))
    tables = list(InProcessExecutor().stream(steps, [item.location], stats))
    if not tables:
        return CleanResult(stats.to_dict(), 0)
    table = pa.concat_tables(tables, promote_options="default")
    write_parquet(table, item.kept)
    return CleanResult(stats.to_dict(), table.num_rows)
