"""Typed configuration of ``pipelines/curate_knowledge.py`` (``configs/knowledge.yaml``), checked before any work."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from common.config_check import ConfigError, build, check_section_files, config_dir, read_yaml_mapping
from operators.decontamination.filter import DecontaminationConfig
from operators.dedup.whole_set import WholeSetDedupConfig
from operators.knowledge.quality_presets import KINDS, preset
from operators.knowledge.reader import KnowledgeReaderConfig
from operators.web.langid import LanguageIdConfig
from operators.web.quality_filter import QualityConfig


@dataclass
class KnowledgeConfig:
    # Where the output goes in the mixture: OUT/<category>_<lang>/ (configs/mixture.yaml names "knowledge_*").
    category: str = "knowledge"
    # text (QA, STEM) | math | code: which quality rules apply (operators/knowledge/quality_presets.py); code
    # skips language ID (its records get lang from the reader, else "code").
    kind: str = "text"
    reader: KnowledgeReaderConfig = field(default_factory=KnowledgeReaderConfig)
    langid: LanguageIdConfig = field(default_factory=LanguageIdConfig)
    # null thresholds_file: the web-derived thresholds do not fit QA items; the kind's preset is the default.
    quality: Optional[QualityConfig] = None
    decontamination: DecontaminationConfig = field(default_factory=DecontaminationConfig)
    # Exact, MinHash (word 3-grams, Jaccard >= 0.8), SimHash and semantic dedup over the whole set. Semantic: USE
    # at cosine 0.8 — on NTREX QA pairs unrelated items reach 0.66, translations of one item 0.63-0.82, so it
    # catches rewordings and the closest translations, not every translation (exact n-grams of FLORES-style
    # parallel benchmarks are decontamination's job).
    dedup: WholeSetDedupConfig = field(
        default_factory=lambda: WholeSetDedupConfig(embedding_encoder="use", embedding_threshold=0.8))
    # Most rows per output Parquet file.
    rows_per_file: int = 100_000
    num_cpus: Optional[int] = None   # embedded Ray only; None = every CPU

    def validate(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9]*", self.category):
            raise ConfigError(f"category: lowercase letters and digits, got {self.category!r}")
        if self.kind not in KINDS:
            raise ConfigError(f"kind: expected one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.decontamination.action != "drop":
            raise ConfigError("decontamination.action: a QA item is the benchmark's or it is not: only drop applies")
        if self.rows_per_file <= 0:
            raise ConfigError("rows_per_file: must be positive")

    def quality_config(self) -> QualityConfig:
        if self.quality is not None:
            return self.quality
        return QualityConfig(thresholds_file="", thresholds={"default": preset(self.kind)})


def load_knowledge_config(path: Optional[str]) -> KnowledgeConfig:
    config = build(KnowledgeConfig, read_yaml_mapping("--config", path) if path else {}, base_dir=config_dir(path))
    check_section_files(config)   # benchmark files, encoder, LID model: before any work
    config.quality_config().check_files()
    return config


__all__ = ["KnowledgeConfig", "load_knowledge_config"]
