"""Typed configuration of ``pipelines/curate_cc.py``, read from YAML and checked before any work.

Each section belongs to one operator (its dataclass lives beside the operator); this file only
assembles them. ``configs/curate_cc.yaml`` documents every key with the paper's or a peer's default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from common.config_check import ConfigError, build, check_section_files, config_dir, read_yaml_mapping
from operators.decontamination.filter import DecontaminationConfig
from operators.drop_samples import DropSampling
from operators.web.extract import ExtractConfig
from operators.web.langid import LanguageIdConfig
from operators.web.perplexity import PerplexityConfig
from operators.web.quality_filter import QualityConfig
from operators.web.url_filter import UrlFilterConfig
from operators.web.warc_reader import WarcReaderConfig


@dataclass
class OutputConfig:
    # Input files per chunk: the unit of resumption (a rerun skips chunks with a _SUCCESS marker).
    chunk_files: int = 8
    # Most rows per Parquet file.
    rows_per_file: int = 20_000

    def validate(self) -> None:
        if self.chunk_files <= 0 or self.rows_per_file <= 0:
            raise ConfigError("chunk_files and rows_per_file: must be positive")


@dataclass
class RayConfig:
    # CPUs for an embedded local Ray (ignored when connecting to a cluster); None = all.
    num_cpus: Optional[int] = None
    # CPUs reserved per pipeline task (the fused read → extract → langid → write chain).
    cpus_per_task: float = 1.0
    # Chunks processed at the same time; None = enough to cover the cluster's CPUs, at least 2.
    concurrent_chunks: Optional[int] = None

    def validate(self) -> None:
        if self.concurrent_chunks is not None and self.concurrent_chunks <= 0:
            raise ConfigError("concurrent_chunks: must be positive")
        if self.num_cpus is not None and self.num_cpus <= 0:
            raise ConfigError("num_cpus: must be positive")
        if self.cpus_per_task <= 0:
            raise ConfigError("cpus_per_task: must be positive")


@dataclass
class CurateConfig:
    reader: WarcReaderConfig = field(default_factory=WarcReaderConfig)
    url_filter: UrlFilterConfig = field(default_factory=UrlFilterConfig)
    extract: ExtractConfig = field(default_factory=ExtractConfig)
    langid: LanguageIdConfig = field(default_factory=LanguageIdConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    perplexity: PerplexityConfig = field(default_factory=PerplexityConfig)
    # Benchmark decontamination (operators/decontamination/); off until benchmarks are named. A page that quotes
    # a benchmark keeps the rest of its text: action cut.
    decontamination: DecontaminationConfig = field(default_factory=lambda: DecontaminationConfig(action="cut"))
    output: OutputConfig = field(default_factory=OutputConfig)
    ray: RayConfig = field(default_factory=RayConfig)
    # A sample of the dropped documents, per operator x reason x language, into OUT/_drops/.
    drops: DropSampling = field(default_factory=DropSampling)


def load_config(path: Optional[str]) -> CurateConfig:
    data = read_yaml_mapping("--config", path) if path else {}
    config = build(CurateConfig, data, base_dir=config_dir(path))
    check_section_files(config)  # every model and list the steps will load exists, before any work
    return config
