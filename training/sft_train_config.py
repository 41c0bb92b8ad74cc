"""Typed configuration of ``launch/sft.py`` (paper §4.1.2: neat packing into 16,384-token rows, cosine
learning rate from 6e-6 down to 6e-7), read from ``configs/post_training/*.yaml`` and overridable by
``key=value`` arguments, checked before anything heavy starts."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import List, Optional

from operators.config_check import ConfigError, build, read_yaml_mapping
from training.engine_settings import EngineSettings
from training.lr_schedule import LrSchedule
from training.pretrain_config import apply_overrides


@dataclass
class SftTrainConfig(EngineSettings):
    data: str = "sft/sft.jsonl"          # pipelines/curate_sft.py's output
    tokenizer: Optional[str] = None      # None = the model folder's tokenizer.json, else Qwen2's packaged BPE
    system_prompt: str = "You are a helpful assistant."
    seq_length: int = 16384              # packed row length
    rows_per_step: int = 64              # packed rows per optimizer step (global batch)
    epochs: float = 2.0
    max_lr: float = 6e-6
    min_lr: float = 6e-7
    warmup_ratio: float = 0.03           # LLaMA-Factory's and TRL's usual warm-up share
    weight_decay: float = 0.0            # LLaMA-Factory's default for full fine-tuning
    output_dir: str = "checkpoints/sft"

    def validate(self) -> None:
        self.validate_engine()
        for name in ("seq_length", "rows_per_step"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name}: must be positive")
        if self.epochs <= 0:
            raise ConfigError("epochs: must be positive")
        if not 0 < self.min_lr <= self.max_lr:
            raise ConfigError("max_lr, min_lr: need 0 < min_lr <= max_lr")
        if not 0 <= self.warmup_ratio < 1:
            raise ConfigError("warmup_ratio: must be in [0, 1)")

    def check_data(self) -> None:
        if not os.path.isfile(self.data):
            raise ConfigError(f"data: file not found: {self.data} (run pipelines/curate_sft.py)")

    def steps(self, rows: int) -> int:
        return max(1, math.ceil(rows * self.epochs / self.rows_per_step))

    def schedule(self, rows: int) -> LrSchedule:
        steps = self.steps(rows)
        return LrSchedule(self.max_lr, round(steps * self.warmup_ratio), steps, self.min_lr / self.max_lr)


def load_sft_train_config(path: Optional[str], overrides: List[str] = ()) -> SftTrainConfig:
    data = read_yaml_mapping("--config", path) if path else {}
    return build(SftTrainConfig, apply_overrides(data, list(overrides)))


__all__ = ["SftTrainConfig", "load_sft_train_config"]
