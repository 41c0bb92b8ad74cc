"""Settings every training launcher shares (model source, precision, optimizer, checkpoints, logs), how a
config file and ``key=value`` overrides become a checked settings object, and the DeepSpeed ZeRO-3 config
the settings give: bf16, overlapped communication, 16-bit weights gathered on save, torch's AdamW as the
client optimizer."""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Type, TypeVar

import yaml

from common.config_check import ConfigError, build, read_yaml_mapping

PRECISIONS = ("bf16", "fp32")

T = TypeVar("T")


@dataclass
class EngineSettings:
    model: str = "Qwen/Qwen2-7B"     # a Hugging Face checkpoint folder or hub id
    # Random weights from the model's config.json instead of its checkpoint (tests, scaling studies),
    # with ``model_config`` replacing config.json values (e.g. a tiny test model's sizes).
    random_init: bool = False
    model_config: Dict[str, Any] = field(default_factory=dict)
    attn_implementation: str = "sdpa"  # or flash_attention_2 where flash-attn is installed
    precision: str = "bf16"           # bf16 (the paper's runs) or fp32
    gradient_checkpointing: bool = False
    micro_batch_size: int = 1
    adam_beta1: float = 0.9
    adam_beta2: float = 0.95
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    seed: int = 1234
    save_every_steps: int = 1000
    keep_checkpoints: int = 2        # newest checkpoints kept; 0 keeps all
    output_dir: str = "checkpoints"
    tensorboard: bool = True         # <run dir>/tensorboard beside logs/train.jsonl
    peak_tflops: Optional[float] = None  # per device, for MFU; None = looked up from the GPU's name

    def validate_engine(self) -> None:
        for name in ("micro_batch_size", "save_every_steps"):
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
        if self.grad_clip < 0 or self.weight_decay < 0:
            raise ConfigError("grad_clip, weight_decay: must not be negative")

    def check_model_source(self) -> None:
        """A local model folder must hold config.json; anything else is taken for a hub id."""
        if os.path.isdir(self.model) and not os.path.isfile(os.path.join(self.model, "config.json")):
            raise ConfigError(f"model: {self.model} is a folder without config.json")
        if not os.path.isdir(self.model) and (self.model.startswith((".", "/")) or self.model.count("/") > 1):
            raise ConfigError(f"model: folder not found: {self.model}")


def zero3_config(settings: EngineSettings, global_batch: int, world_size: int, key: str = "global batch") -> dict:
    """DeepSpeed config for ``global_batch`` samples (rows, pairs) per optimizer step."""
    per_step = settings.micro_batch_size * world_size
    if global_batch % per_step:
        raise ConfigError(f"{key}: {global_batch} per step is not a multiple of micro_batch_size x world size "
                          f"({per_step})")
    return {
        "train_batch_size": global_batch,
        "train_micro_batch_size_per_gpu": settings.micro_batch_size,
        "gradient_accumulation_steps": global_batch // per_step,
        "gradient_clipping": settings.grad_clip,
        "bf16": {"enabled": settings.precision == "bf16"},
        "zero_optimization": {"stage": 3, "overlap_comm": True, "contiguous_gradients": True,
                              "stage3_gather_16bit_weights_on_model_save": True},
        # AdamW is torch's (the client optimizer), so no fused op is compiled on machines without one.
        "zero_allow_untested_optimizer": True,
        "steps_per_print": 10**9,  # the trainers log every step themselves (training/engine/step_log.py)
    }


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


def load_settings(cls: Type[T], path: Optional[str], overrides: List[str] = ()) -> T:
    """A config file (``--config``) with ``key=value`` overrides, checked."""
    data = read_yaml_mapping("--config", path) if path else {}
    return build(cls, apply_overrides(data, list(overrides)))


__all__ = ["EngineSettings", "zero3_config", "apply_overrides", "load_settings", "PRECISIONS"]
