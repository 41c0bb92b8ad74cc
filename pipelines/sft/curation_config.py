"""Typed configuration of ``pipelines/curate_sft.py`` (``configs/sft.yaml``), checked before any work."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

from common.config_check import ConfigError, build, check_section_files, config_dir, read_yaml_mapping
from operators.decontamination.filter import DecontaminationConfig
from operators.sft.cleaning import SftCleaningConfig
from operators.sft.reader import SftReaderConfig
from operators.sft.scoring import ScoreHook
from operators.dedup.whole_set import WholeSetDedupConfig


@dataclass
class SftConfig:
    reader: SftReaderConfig = field(default_factory=SftReaderConfig)
    cleaning: SftCleaningConfig = field(default_factory=SftCleaningConfig)
    scoring: List[ScoreHook] = field(default_factory=list)
    dedup: WholeSetDedupConfig = field(default_factory=WholeSetDedupConfig)
    # Benchmark decontamination of every turn (operators/decontamination/); a conversation is dropped whole.
    decontamination: DecontaminationConfig = field(default_factory=DecontaminationConfig)
    num_cpus: Optional[int] = None   # embedded Ray only; None = every CPU


    def validate(self) -> None:
        if self.decontamination.action != "drop":
            raise ConfigError("decontamination.action: a conversation is the item or it is not: only drop applies")


def load_sft_config(path: Optional[str]) -> SftConfig:
    config = build(SftConfig, read_yaml_mapping("--config", path) if path else {}, base_dir=config_dir(path))
    check_section_files(config)   # the benchmark files (and encoder) exist, before any work
    return config


__all__ = ["SftConfig", "load_sft_config"]
