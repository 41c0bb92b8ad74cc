"""Typed training configuration of ``launch/sft.py`` (paper §4.1.2: neat packing into 16,384-token rows, cosine
learning rate from 6e-6 down to 6e-7), read from ``configs/post_training/*.yaml`` (``sft-qwen2-7b.yaml`` when
no ``--config`` is given) and overridable by ``key=value`` arguments, checked before anything heavy starts.

The defaults chain the jobs in one working directory: the data is ``sft/sft.jsonl``
(``pipelines/curate_sft.py --output sft/``), the model stage 2's export ``checkpoints/stage-2/final``
(``launch/pretrain.py --stage 2`` with its default output_dir), the run goes to ``checkpoints/sft``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from common.config_check import ConfigError, ConfigPath, PathOrName
from training.engine.post_training_settings import PostTrainingSettings
from training.engine.settings import load_settings

DEFAULT_CONFIG = str(Path(__file__).resolve().parents[2] / "configs" / "post_training" / "sft-qwen2-7b.yaml")


@dataclass
class SftTrainConfig(PostTrainingSettings):
    model: PathOrName = "checkpoints/stage-2/final"  # launch/pretrain.py --stage 2's export
    data: ConfigPath = "sft/sft.jsonl"   # pipelines/curate_sft.py's output
    seq_length: int = 16384              # packed row length
    rows_per_step: int = 64              # packed rows per optimizer step (global batch)
    epochs: float = 2.0
    max_lr: float = 6e-6
    min_lr: float = 6e-7
    warmup_ratio: float = 0.03           # LLaMA-Factory's and TRL's usual warm-up share
    output_dir: ConfigPath = "checkpoints/sft"

    per_step_key = "rows_per_step"
    data_producer = ".venv/bin/python pipelines/curate_sft.py --input INSTRUCTIONS --output {folder}"
    data_file_name = "sft.jsonl"
    model_producer = ".venv/bin/python launch/pretrain.py --stage 2"

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


__all__ = ["SftTrainConfig", "load_sft_train_config", "DEFAULT_CONFIG"]
