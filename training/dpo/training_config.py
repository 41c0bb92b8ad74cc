"""Typed training configuration of ``launch/dpo.py`` (paper §4.2: preference alignment with DPO after SFT)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from common.config_check import ConfigError
from training.dpo.loss import DEFAULT_BETA
from training.engine.post_training_settings import PostTrainingSettings
from training.engine.settings import load_settings


@dataclass
class DpoTrainConfig(PostTrainingSettings):
    data: str = "prefs/preferences.jsonl"  # pipelines/build_preferences.py's output
    max_length: int = 4096                 # prompt + response tokens; longer pairs are left out (counted)
    pairs_per_step: int = 64
    epochs: float = 1.0
    beta: float = DEFAULT_BETA
    max_lr: float = 5e-7                   # the order of TRL's DPO default (1e-6) for full fine-tuning
    min_lr_ratio: float = 0.0
    warmup_ratio: float = 0.1              # LLaMA-Factory's DPO examples
    output_dir: str = "checkpoints/dpo"

    per_step_key = "pairs_per_step"
    data_producer = "pipelines/build_preferences.py"

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


__all__ = ["DpoTrainConfig", "load_dpo_train_config"]
