"""Typed training configuration of ``launch/dpo.py`` (paper §4.2: preference alignment with DPO after SFT),
read from ``configs/post_training/*.yaml`` (``dpo-qwen2-7b.yaml`` when no ``--config`` is given).

The defaults chain the jobs in one working directory: the data is ``prefs/preferences.jsonl``
(``pipelines/build_preferences.py --output prefs/``), the model SFT's export ``checkpoints/sft/final``
(``launch/sft.py`` with its default output_dir), the run goes to ``checkpoints/dpo``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from common.config_check import ConfigError, ConfigPath, PathOrName
from training.dpo.loss import DEFAULT_BETA
from training.engine.post_training_settings import PostTrainingSettings
from training.engine.settings import load_settings

DEFAULT_CONFIG = str(Path(__file__).resolve().parents[2] / "configs" / "post_training" / "dpo-qwen2-7b.yaml")


@dataclass
class DpoTrainConfig(PostTrainingSettings):
    model: PathOrName = "checkpoints/sft/final"  # launch/sft.py's export
    data: ConfigPath = "prefs/preferences.jsonl"  # pipelines/build_preferences.py's output
    max_length: int = 4096                 # prompt + response tokens; longer pairs are left out (counted)
    pairs_per_step: int = 64
    epochs: float = 1.0
    beta: float = DEFAULT_BETA
    max_lr: float = 5e-7                   # the order of TRL's DPO default (1e-6) for full fine-tuning
    min_lr_ratio: float = 0.0
    warmup_ratio: float = 0.1              # LLaMA-Factory's DPO examples
    output_dir: ConfigPath = "checkpoints/dpo"

    per_step_key = "pairs_per_step"
    data_producer = ".venv/bin/python pipelines/build_preferences.py --input PREFERENCE_DATA --output {folder}"
    data_file_name = "preferences.jsonl"
    model_producer = ".venv/bin/python launch/sft.py"

    @property
    def min_lr_fraction(self) -> float:
        return self.min_lr_ratio

    def validate(self) -> None:
        self.validate_post_training()
        if self.max_length <= 0 or self.beta <= 0:
            raise ConfigError("max_length, beta: must be positive")
        if not 0 <= self.min_lr_ratio <= 1:
            raise ConfigError("min_lr_ratio: must be in [0, 1]")


def load_dpo_train_config(path: Optional[str], overrides: List[str] = ()) -> DpoTrainConfig:
    return load_settings(DpoTrainConfig, path, overrides)


__all__ = ["DpoTrainConfig", "load_dpo_train_config", "DEFAULT_CONFIG"]
