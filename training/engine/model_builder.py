"""The model a run trains: a Hugging Face causal LM (Qwen2 in the paper) built directly partitioned
under ZeRO-3.

``HfDeepSpeedConfig`` is created before the model, as transformers' DeepSpeed integration asks, so
``from_pretrained`` and ``from_config`` construct every parameter inside ``deepspeed.zero.Init`` and no
rank ever holds the full model. Random initialization (``random_init``) is seeded identically on
every rank.
"""

from __future__ import annotations

from typing import Tuple

import torch


def build_model(source: str, random_init: bool, model_config: dict, attn_implementation: str, ds_config: dict,
                precision: str, seed: int) -> Tuple[object, object]:
    """(model, the HfDeepSpeedConfig that must stay alive while the model is used)."""
    from transformers import AutoConfig, AutoModelForCausalLM
    from transformers.integrations import HfDeepSpeedConfig

    keep_alive = HfDeepSpeedConfig(ds_config)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    torch.manual_seed(seed)
    if random_init:
        config = AutoConfig.from_pretrained(source, **model_config)
        config._attn_implementation = attn_implementation
        model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    else:
        model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, attn_implementation=attn_implementation)
    model.config.use_cache = False
    return model, keep_alive


def parameter_count(model) -> int:
    """Total parameters (ZeRO-3 partitions report their full size in ``ds_numel``)."""
    return sum(getattr(p, "ds_numel", p.numel()) for p in model.parameters())


def optimizer_groups(model, weight_decay: float) -> list:
    """AdamW groups: weight decay on matrices only, none on norms and biases (Megatron's default)."""
    decay, no_decay = [], []
    for parameter in model.parameters():
        if not parameter.requires_grad:
            continue
        shape = getattr(parameter, "ds_shape", parameter.shape)
        (decay if len(shape) >= 2 else no_decay).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


__all__ = ["build_model", "parameter_count", "optimizer_groups"]
