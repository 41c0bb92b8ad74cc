"""Typed configuration of ``pipelines/curate_parallel.py``, read from YAML and checked before any work."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Optional

from common.config_check import ConfigError, build, check_section_files, config_dir, read_yaml_mapping
from operators.decontamination.filter import DecontaminationConfig
from operators.drop_samples import DropSampling
from operators.parallel.bitext_reader import BitextReaderConfig
from operators.parallel.pair_filters import PairFilterConfig
from operators.parallel.similarity import SimilarityConfig

DIRECTIONS = ("forward", "both")


@dataclass
class TemplateConfig:
    # Seed of the per-pair template choice (Table 13: A-K).
    seed: int = 0
    # forward: one text per pair (src -> tgt); both: also the reverse direction, with its own draw.
    directions: str = "forward"

    def validate(self) -> None:
        if self.directions not in DIRECTIONS:
            raise ConfigError(f"directions: expected one of {', '.join(DIRECTIONS)}, got {self.directions!r}")


@dataclass
class ParallelConfig:
    reader: BitextReaderConfig = field(default_factory=BitextReaderConfig)
    pair_filter: PairFilterConfig = field(default_factory=PairFilterConfig)
    similarity: SimilarityConfig = field(default_factory=SimilarityConfig)
    templates: TemplateConfig = field(default_factory=TemplateConfig)
    # Benchmark decontamination of both sides (operators/decontamination/): a pair is dropped whole.
    decontamination: DecontaminationConfig = field(default_factory=DecontaminationConfig)
    # A sample of the dropped pairs (both sides), per step x reason, into OUT/_drops/ (operators/drop_samples.py).
    drops: DropSampling = field(default_factory=DropSampling)
    # CPUs of an embedded local Ray (ignored on a cluster); None = all.
    num_cpus: Optional[int] = None

    def validate(self) -> None:
        if self.decontamination.action != "drop":
            raise ConfigError("decontamination.action: a pair is a benchmark sentence or it is not: only drop applies")


def load_config(path: Optional[str], **overrides) -> ParallelConfig:
    data = read_yaml_mapping("--config", path) if path else {}
    reader = dict(data.get("reader") or {})
    reader.update({k: v for k, v in overrides.items() if k in ("src", "tgt", "format") and v is not None})
    data["reader"] = reader
    if "laser" in data:
        old = data["laser"] if isinstance(data["laser"], dict) else {}
        raise ConfigError(f"laser: the section is now similarity: (encoder: laser, model_dir: "
                          f"{old.get('model_dir') or '...'}); min_margin, k, batch_size and device keep their names")
    encoder, laser_dir = overrides.get("encoder"), overrides.get("laser_dir")
    if laser_dir is not None and encoder not in (None, "laser"):
        raise ConfigError(f"--laser-dir: LASER's model folder, but --encoder {encoder}")
    if encoder is not None or laser_dir is not None:
        similarity = dict(data.get("similarity") or {})
        similarity["encoder"] = encoder or "laser"
        if laser_dir is not None:
            # A command-line path is relative to the current directory, a config's to the config file.
            similarity["model_dir"] = os.path.abspath(laser_dir)
        data["similarity"] = similarity
    config = build(ParallelConfig, data, base_dir=config_dir(path))
    check_section_files(config)  # every model and list the steps will load exists, before any work
    return config
