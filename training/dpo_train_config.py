"""Typed configuration of ``launch/dpo.py`` (paper §4.2: preference alignment with DPO after SFT)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import List, Optional

from operators.config_check import ConfigError, build, read_yaml_mapping
from training.dpo_loss import DEFAULT_BETA
from training.engine_settings import EngineSettings
from training.lr_schedule import LrSchedule
from training.pretrain_config import apply_overrides


@dataclass
class DpoTrainConfig(EngineSettings):
    data: str = "prefs/preferences.jsonl"  # pipelines/build_preferences.py's output
    tokenizer: Optional[str] = None        # None = the model folder's tokenizer.json, else Qwen2's packaged BPE
    system_prompt: str = "You are a helpful assistant."
    max_length: int = 4096                 # prompt + response tokens; longer pairs are left out (counted)
    pairs_per_step: int = 64
    epochs: float = 1.0
    beta: float = DEFAULT_BETA
    max_lr: float = 5e-7                   # the order of TRL's DPO default (1e-6) for full fine-tuning
    min_lr_ratio: float = 0.0
    warmup_ratio: float = 0.1              # LLaMA-Factory's DPO examples
    weight_decay: float = 0.0
    output_dir: str = "checkpoints/dpo"

    def validate(self) -> None:
        self.validate_engine()
        for name in ("max_length", "pairs_per_step"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name}: must be positive")
        if self.epochs <= 0 or self.beta <= 0 or self.max_lr <= 0:
            raise ConfigError("epochs, beta, max_lr: must be positive")
        if not 0 <= self.min_lr_ratio <= 1 or not 0 <= self.warmup_ratio < 1:
            raise ConfigError("min_lr_ratio in [0, 1], warmup_ratio in [0, 1)")

    def check_data(self) -> None:
        if not os.path.isfile(self.data):
            raise ConfigError(f"data: file not found: {self.data} (run pipelines/build_preferences.py)")

    def steps(self, pairs: int) -> int:
        return max(1, math.ceil(pairs * self.epochs / self.pairs_per_step))

    def schedule(self, pairs: int) -> LrSchedule:
        steps = self.steps(pairs)
        return LrSchedule(self.max_lr, round(steps * self.warmup_ratio), steps, self.min_lr_ratio)


def load_dpo_train_config(path: Optional[str], overrides: List[str] = ()) -> DpoTrainConfig:
    data = read_yaml_mapping("--config", path) if path else {}
    return build(DpoTrainConfig, apply_overrides(data, list(overrides)))


__all__ = ["DpoTrainConfig", "load_dpo_train_config"]
