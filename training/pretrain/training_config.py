"""Typed training configuration of ``launch/pretrain.py``: the paper's continual-pretraining settings (§3.2,
Table 3), read from ``configs/pretrain/*.yaml`` (``qwen2-7b.yaml``, Marco-7B's, when no ``--config`` is
given), overridable by ``key=value`` arguments, checked before anything heavy starts.

A stage's ``blend`` left out (the shipped configs leave it out) is ``blends/stage-N.blend.json`` in the
current directory: where ``pipelines/build_mixture.py --stage N`` writes by default."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from common.config_check import ConfigError, ConfigPath
from training.engine.settings import EngineSettings, load_settings

# The config used without --config: Marco-7B's (paper §3.2, Table 3), in the checkout.
DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "pretrain" / "qwen2-7b.yaml"
DEFAULT_BLEND = os.path.join("blends", "stage-{stage}.blend.json")  # build_mixture.py's default --output


@dataclass
class StageSettings:
    tokens: float = 160e9
    max_lr: float = 1e-5
    blend: ConfigPath = ""          # build_mixture.py's stage-N.blend.json; "" = blends/stage-N.blend.json

    def validate(self) -> None:
        if self.tokens <= 0:
            raise ConfigError("tokens: must be positive")
        if self.max_lr <= 0:
            raise ConfigError("max_lr: must be positive")


@dataclass
class MegatronSettings:
    tensor_parallel: int = 8        # the paper's cluster: TP = PP = 8
    pipeline_parallel: int = 8
    script: str = "pretrain_gpt.py"  # or Pai-Megatron-Patch's examples/qwen2/pretrain_qwen.py


@dataclass
class PretrainConfig(EngineSettings):
    seq_length: int = 32768
    global_batch_tokens: int = 4_194_304
    warmup_tokens: float = 10e9
    min_lr_ratio: float = 0.1
    stages: Dict[str, StageSettings] = field(default_factory=dict)
    megatron: MegatronSettings = field(default_factory=MegatronSettings)

    def validate(self) -> None:
        self.validate_engine()
        for name in ("seq_length", "global_batch_tokens"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name}: must be positive")
        if self.global_batch_tokens % self.seq_length:
            raise ConfigError("global_batch_tokens: must be a multiple of seq_length")
        if self.warmup_tokens < 0 or not 0 <= self.min_lr_ratio <= 1:
            raise ConfigError("warmup_tokens, min_lr_ratio: warm-up must not be negative, min_lr_ratio in [0, 1]")
        for name, stage in self.stages.items():
            if not stage.blend:  # the default place, relative to the current directory
                stage.blend = os.path.abspath(DEFAULT_BLEND.format(stage=name))

    def stage(self, number: int) -> StageSettings:
        if str(number) not in self.stages:
            stages = ", ".join(sorted(self.stages)) or "none"
            raise ConfigError(f"--stage: {number} is not a stage of the config (its stages: {stages}; "
                              f"configs/pretrain/*.yaml define stages 1 and 2)")
        return self.stages[str(number)]

    @property
    def global_batch_samples(self) -> int:
        return self.global_batch_tokens // self.seq_length

    def stage_dir(self, number: int) -> str:
        return os.path.join(self.output_dir, f"stage-{number}")


def load_pretrain_config(path: Optional[str], overrides: List[str] = ()) -> PretrainConfig:
    """``path`` (None: :data:`DEFAULT_CONFIG`) with ``key=value`` overrides."""
    if path is None:
        if not DEFAULT_CONFIG.is_file():
            raise ConfigError(f"--config: not given, and the default {DEFAULT_CONFIG} is not here (an installed "
                              "package ships no configs): pass --config configs/pretrain/<model>.yaml")
        path = str(DEFAULT_CONFIG)
    return load_settings(PretrainConfig, path, overrides)


__all__ = ["PretrainConfig", "StageSettings", "MegatronSettings", "load_pretrain_config", "DEFAULT_CONFIG"]
