"""Typed configuration of ``launch/pretrain.py``: the paper's continual-pretraining settings (§3.2,
Table 3), read from ``configs/pretrain/*.yaml``, overridable by ``key=value`` arguments, checked
before anything heavy starts."""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import yaml

from operators.config_check import ConfigError, build, read_yaml_mapping


PRECISIONS = ("bf16", "fp32")


@dataclass
class StageSettings:
    tokens: float = 160e9
    max_lr: float = 1e-5
    blend: str = ""                 # build_mixture.py's stage-N.blend.json

    def validate(self) -> None:
        if self.tokens <= 0:
            raise ConfigError("tokens: must be positive")
        if self.max_lr <= 0:
            raise ConfigError("max_lr: must be positive")
        if not self.blend:
            raise ConfigError("blend: the stage's blend file (pipelines/build_mixture.py) is required")


@dataclass
class MegatronSettings:
    tensor_parallel: int = 8        # the paper's cluster: TP = PP = 8
    pipeline_parallel: int = 8
    script: str = "pretrain_gpt.py"  # or Pai-Megatron-Patch's examples/qwen2/pretrain_qwen.py


@dataclass
class PretrainConfig:
    model: str = "Qwen/Qwen2-7B"     # a Hugging Face checkpoint folder or hub id
    # Random weights from the model's config.json instead of its checkpoint (tests, scaling studies),
    # with ``model_config`` replacing config.json values (e.g. a tiny test model's sizes).
    random_init: bool = False
    model_config: Dict[str, Any] = field(default_factory=dict)
    attn_implementation: str = "sdpa"  # or flash_attention_2 where flash-attn is installed
    precision: str = "bf16"           # bf16 (the paper's runs) or fp32
    gradient_checkpointing: bool = False
    seq_length: int = 32768
    global_batch_tokens: int = 4_194_304
    micro_batch_size: int = 1
    warmup_tokens: float = 10e9
    min_lr_ratio: float = 0.1
    adam_beta1: float = 0.9
    adam_beta2: float = 0.95
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    seed: int = 1234
    save_every_steps: int = 1000
    keep_checkpoints: int = 2        # newest checkpoints kept per stage; 0 keeps all
    output_dir: str = "checkpoints"
    tensorboard: bool = True         # <output_dir>/stage-N/tensorboard beside logs/train.jsonl
    peak_tflops: Optional[float] = None  # per device, for MFU; None = looked up from the GPU's name
    stages: Dict[str, StageSettings] = field(default_factory=dict)
    megatron: MegatronSettings = field(default_factory=MegatronSettings)

    def validate(self) -> None:
        for name in ("seq_length", "global_batch_tokens", "micro_batch_size", "save_every_steps"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name}: must be positive")
        if self.keep_checkpoints < 0:
            raise ConfigError("keep_checkpoints: must not be negative")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision: expected one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.model_config and not self.random_init:
            raise ConfigError("model_config: only applies with random_init: true (a checkpoint keeps its own shapes)")
        if self.peak_tflops is not None and self.peak_tflops <= 0:
            raise ConfigError("peak_tflops: must be positive")
        if self.global_batch_tokens % self.seq_length:
            raise ConfigError("global_batch_tokens: must be a multiple of seq_length")
        if self.warmup_tokens < 0 or not 0 <= self.min_lr_ratio <= 1:
            raise ConfigError("warmup_tokens, min_lr_ratio: warm-up must not be negative, min_lr_ratio in [0, 1]")

    def stage(self, number: int) -> StageSettings:
        if str(number) not in self.stages:
            raise ConfigError(f"--stage: {number} is not a stage of the config ({', '.join(sorted(self.stages))})")
        return self.stages[str(number)]

    @property
    def global_batch_samples(self) -> int:
        return self.global_batch_tokens // self.seq_length

    def stage_dir(self, number: int) -> str:
        return os.path.join(self.output_dir, f"stage-{number}")

    def check_model_source(self) -> None:
        """A local model folder must hold config.json; anything else is taken for a hub id."""
        if os.path.isdir(self.model) and not os.path.isfile(os.path.join(self.model, "config.json")):
            raise ConfigError(f"model: {self.model} is a folder without config.json")
        if not os.path.isdir(self.model) and (self.model.startswith((".", "/")) or self.model.count("/") > 1):
            raise ConfigError(f"model: folder not found: {self.model}")


def apply_overrides(data: dict, overrides: List[str]) -> dict:
    """``a.b.c=value`` (value parsed as YAML) into a copy of ``data``."""
    data = copy.deepcopy(data)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r}: expected key=value")
        key, raw = item.split("=", 1)
        target = data
        parts = key.split(".")
        for part in parts[:-1]:
            target = target.setdefault(_existing_key(target, part), {})
            if not isinstance(target, dict):
                raise ConfigError(f"override {key}: {part} is not a mapping")
        target[_existing_key(target, parts[-1])] = yaml.safe_load(raw)
    return data


def _existing_key(mapping: dict, part: str):
    """The mapping's own key for ``part`` (YAML reads ``stages: {1: ...}`` with int keys)."""
    return next((k for k in mapping if str(k) == part), part)


def load_pretrain_config(path: Optional[str], overrides: List[str] = ()) -> PretrainConfig:
    data = read_yaml_mapping("--config", path) if path else {}
    return build(PretrainConfig, apply_overrides(data, list(overrides)))
