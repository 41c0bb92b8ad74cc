"""Settings SFT and DPO share on top of the engine's: the data file, the tokenizer and system prompt of
the ChatML template (``tokenizer_spec``: which tokenizer they name), epochs, and a cosine LR schedule with
linear warm-up whose step count follows from the data (items = packed rows for SFT, pairs for DPO)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Optional

from common.config_check import ConfigError, ConfigPath, PathOrName
from training.engine.lr_schedule import LrSchedule
from training.engine.settings import EngineSettings


@dataclass
class PostTrainingSettings(EngineSettings):
    data: ConfigPath = ""
    tokenizer: Optional[PathOrName] = None  # None = the model folder's tokenizer.json, else Qwen2's packaged BPE
    system_prompt: str = "You are a helpful assistant."
    epochs: float = 1.0
    max_lr: float = 1e-6
    warmup_ratio: float = 0.0
    weight_decay: float = 0.0            # LLaMA-Factory's default for full fine-tuning

    # Set by each job: what one optimizer step consumes, the LR floor, and the command that makes the data
    # ({folder}: the data file's folder, relative to the current directory where it is inside it).
    per_step_key = "items_per_step"
    data_producer = ""
    data_file_name = ""

    @property
    def items_per_step(self) -> int:
        return getattr(self, self.per_step_key)

    @property
    def min_lr_fraction(self) -> float:
        raise NotImplementedError

    def validate_post_training(self) -> None:
        self.validate_engine()
        if self.items_per_step <= 0:
            raise ConfigError(f"{self.per_step_key}: must be positive")
        if self.epochs <= 0 or self.max_lr <= 0:
            raise ConfigError("epochs, max_lr: must be positive")
        if not 0 <= self.warmup_ratio < 1:
            raise ConfigError("warmup_ratio: must be in [0, 1)")

    def check_data(self) -> None:
        if not os.path.isfile(self.data):
            folder = os.path.dirname(os.path.abspath(self.data))
            shown = os.path.relpath(folder) if not os.path.relpath(folder).startswith("..") else folder
            command = self.data_producer.format(folder=shown.rstrip("/") + "/")
            if self.data_file_name and os.path.basename(self.data) != self.data_file_name:
                command += f" (it writes {self.data_file_name}; point data= at it)"
            raise ConfigError(f"data: file not found: {self.data}; make it with `{command}`")

    def steps(self, items: int) -> int:
        return max(1, math.ceil(items * self.epochs / self.items_per_step))

    def schedule(self, items: int) -> LrSchedule:
        steps = self.steps(items)
        return LrSchedule(self.max_lr, round(steps * self.warmup_ratio), steps, self.min_lr_fraction)


def tokenizer_spec(settings: PostTrainingSettings) -> Optional[str]:
    """The tokenizer the settings name: ``tokenizer``, else the model folder's ``tokenizer.json``, else None
    (Qwen2's BPE, packaged)."""
    if settings.tokenizer:
        return settings.tokenizer
    if os.path.isfile(os.path.join(settings.model, "tokenizer.json")):
        return settings.model
    return None


__all__ = ["PostTrainingSettings", "tokenizer_spec"]
