"""Settings every training launcher shares (model source, precision, optimizer, checkpoints, logs), and
the DeepSpeed ZeRO-3 config they give: bf16, overlapped communication, 16-bit weights gathered on
save, torch's AdamW as the client optimizer."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from operators.config_check import ConfigError

PRECISIONS = ("bf16", "fp32")


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
        "steps_per_print": 10**9,  # the trainers log every step themselves (training/step_log.py)
    }


__all__ = ["EngineSettings", "zero3_config", "PRECISIONS"]
