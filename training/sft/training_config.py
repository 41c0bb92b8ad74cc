"""Typed training configuration of ``launch/sft.py`` (paper §4.1.2: neat packing into 16,384-token rows, cosine
learning rate from 6e-6 down to 6e-7), read from ``configs/post_training/*.yaml`` and overridable by
``key=value`` arguments, checked before anything heavy starts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from common.config_check import ConfigError
from training.engine.post_training_settings import PostTrainingSettings
from training.engine.settings import load_settings


@dataclass
class SftTrainConfig(PostTrainingSettings):
    data: str = "sft/sft.jsonl"          # pipelines/curate_sft.py's output
    seq_length: int = 16384              # packed row length
    rows_per_step: int = 64              # packed rows per optimizer step (global batch)
    epochs: float = 2.0
    max_lr: float = 6e-6
    min_lr: float = 6e-7
    warmup_ratio: float = 0.03           # LLaMA-Factory's and TRL's usual warm-up share
    output_dir: str = "checkpoints/sft"

    per_step_key = "rows_per_step"
    data_producer = "pipelines/curate_sft.py"

    @property
    def min_lr_fraction(self) -> float:
        return self.min_lr / self.max_lr

    def validate(self) -> None:
        self.validate_post_training()
        if self.seq_length <= 0:
            raise ConfigError("seq_length: must be positive")
        if not 0 < self.min_lr <= self.max_lr:
            raise ConfigError("max_lr, min_lr: need 0 < min_lr <= max_lr")


def load_sft_train_config(path: Optional[str], overrides: List[str] = ()) -> SftTrainConfig:
    return load_settings(SftTrainConfig, path, overrides)


__all__ = ["SftTrainConfig", "load_sft_train_config"]
