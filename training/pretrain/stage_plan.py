"""What a pretraining stage will do, derived from the config and the stage's blend before anything
heavy starts: step counts from token budgets, the LR schedule, the DeepSpeed ZeRO-3 config, and the
equivalent Megatron-LM / Pai-Megatron-Patch command line."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import List

from common.config_check import ConfigError
from training.engine.lr_schedule import LrSchedule, steps_for_tokens
from training.engine.settings import zero3_config
from training.pretrain.training_config import PretrainConfig


@dataclass
class StagePlan:
    stage: int
    tokens: float
    steps: int
    warmup_steps: int
    schedule: LrSchedule
    blend: dict
    blend_path: str


def read_blend(path: str, key: str) -> dict:
    if not os.path.isfile(path):
        raise ConfigError(f"{key}: blend file not found: {path} (run pipelines/build_mixture.py)")
    with open(path, encoding="utf-8") as handle:
        blend = json.load(handle)
    if not blend.get("entries"):
        raise ConfigError(f"{key}: {path} has no shards")
    missing = [e["prefix"] for e in blend["entries"] if not os.path.isfile(e["prefix"] + ".idx")]
    if missing:
        raise ConfigError(f"{key}: token shard {missing[0]}.idx not found")
    return blend


def plan_stage(config: PretrainConfig, stage: int) -> StagePlan:
    settings = config.stage(stage)
    blend = read_blend(settings.blend, f"stages.{stage}.blend")
    steps = steps_for_tokens(settings.tokens, config.global_batch_tokens)
    warmup = min(steps, round(config.warmup_tokens / config.global_batch_tokens))
    schedule = LrSchedule(settings.max_lr, warmup, steps, config.min_lr_ratio)
    return StagePlan(stage, settings.tokens, steps, warmup, schedule, blend, settings.blend)


def deepspeed_config(config: PretrainConfig, world_size: int) -> dict:
    """ZeRO-3, bf16, overlapped communication, 16-bit weights gathered when saving."""
    return zero3_config(config, config.global_batch_samples, world_size, key="global_batch_tokens")


def megatron_argv(config: PretrainConfig, plan: StagePlan, nodes: int, gpus_per_node: int) -> List[str]:
    """The equivalent Megatron-LM / Pai-Megatron-Patch command: sample-based budget, warm-up and decay
    for the same token counts; stage 2 starts from stage 1 with ``--pretrained-checkpoint``."""
    samples = steps_for_tokens(plan.tokens, config.global_batch_tokens) * config.global_batch_samples
    megatron = config.megatron
    argv = ["torchrun", f"--nnodes={nodes}", f"--nproc_per_node={gpus_per_node}", megatron.script,
            "--tensor-model-parallel-size", str(megatron.tensor_parallel),
            "--pipeline-model-parallel-size", str(megatron.pipeline_parallel),
            "--seq-length", str(config.seq_length), "--max-position-embeddings", str(config.seq_length),
            "--micro-batch-size", str(config.micro_batch_size), "--global-batch-size", str(config.global_batch_samples),
            "--train-samples", str(samples),
            "--lr", repr(plan.schedule.max_lr), "--min-lr", repr(plan.schedule.max_lr * config.min_lr_ratio),
            "--lr-decay-style", "cosine",
            "--lr-warmup-samples", str(plan.warmup_steps * config.global_batch_samples),
            "--lr-decay-samples", str(samples),
            "--adam-beta1", repr(config.adam_beta1), "--adam-beta2", repr(config.adam_beta2),
            "--weight-decay", repr(config.weight_decay), "--clip-grad", repr(config.grad_clip),
            "--bf16", "--seed", str(config.seed), "--save-interval", str(config.save_every_steps),
            "--save", config.stage_dir(plan.stage), "--load", config.stage_dir(plan.stage),
            "--data-path"] + plan.blend["megatron_data_path"]
    if plan.stage > 1:
        argv += ["--pretrained-checkpoint", config.stage_dir(plan.stage - 1)]
    return argv
