"""What a pretraining stage will do, derived from the config and the stage's blend before anything
heavy starts: step counts from token budgets, the LR schedule, the DeepSpeed ZeRO-3 config, the
equivalent Megatron-LM / Pai-Megatron-Patch command line, and how the stage's training tokens compare
with the tokens in its blend (:func:`data_use`: the category shares the mixture intended and the ones
the blend realises, and how many epochs of each group the stage's token budget means)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from typing import Dict, List

from common.config_check import ConfigError
from common.fingerprints import content_digest, files_identity
from training.engine.lr_schedule import LrSchedule, steps_for_tokens
from training.engine.settings import zero3_config
from training.pretrain.training_config import DEFAULT_BLEND, PretrainConfig

# More passes over a group than this and the dry run and the training log warn. Repeating data is worth
# almost as much as fresh data for up to about 4 epochs and quickly less after that (Muennighoff et al.
# 2023, "Scaling Data-Constrained Language Models"), the bound the mixture planner's max_epochs uses too.
MAX_EPOCHS = 4.0


@dataclass
class StagePlan:
    stage: int
    tokens: float
    steps: int
    warmup_steps: int
    schedule: LrSchedule
    blend: dict
    blend_path: str


def blend_command(stage: int, path: str) -> str:
    """The command that writes ``path``, the blend of ``stage``."""
    folder = os.path.dirname(os.path.abspath(path))
    default = os.path.abspath(DEFAULT_BLEND.format(stage=stage))
    output = "" if os.path.abspath(path) == default else f" --output {folder}"
    name = "" if os.path.basename(path) == f"stage-{stage}.blend.json" else f" (and name it {os.path.basename(path)})"
    return f".venv/bin/python pipelines/build_mixture.py --stage {stage} --tokens TOKENS{output}{name}"


def read_blend(path: str, key: str, stage: int = 0) -> dict:
    """The blend document at ``path``: one ConfigError naming it (and the command that makes it) when it is
    missing, empty, names missing shards, or was planned from token shards that have changed since."""
    make = f"; make it with `{blend_command(stage, path)}` (TOKENS: a pipelines/tokenize_shards.py output)" \
        if stage else " (run pipelines/build_mixture.py)"
    if not os.path.isfile(path):
        raise ConfigError(f"{key}: blend file not found: {path}{make}")
    with open(path, encoding="utf-8") as handle:
        blend = json.load(handle)
    if not blend.get("entries"):
        raise ConfigError(f"{key}: {path} has no shards{make}")
    missing = [e["prefix"] for e in blend["entries"] if not os.path.isfile(e["prefix"] + ".idx")]
    if missing:
        raise ConfigError(f"{key}: token shard {missing[0]}.idx not found")
    manifest = (blend.get("built_from") or {}).get("manifest") or {}
    if manifest.get("path") and manifest.get("sha256") and os.path.isfile(manifest["path"]):
        if content_digest(manifest["path"]) != manifest["sha256"]:
            again = blend_command(stage, path).replace("TOKENS", os.path.dirname(manifest["path"])) if stage \
                else "pipelines/build_mixture.py"
            raise ConfigError(f"{key}: {path} was planned from token shards that have changed since "
                              f"({manifest['path']} is not the one it read); rebuild it: `{again}`")
    return blend


def plan_stage(config: PretrainConfig, stage: int) -> StagePlan:
    settings = config.stage(stage)
    blend = read_blend(settings.blend, f"stages.{stage}.blend", stage)
    steps = steps_for_tokens(settings.tokens, config.global_batch_tokens)
    warmup = min(steps, round(config.warmup_tokens / config.global_batch_tokens))
    schedule = LrSchedule(settings.max_lr, warmup, steps, config.min_lr_ratio)
    return StagePlan(stage, settings.tokens, steps, warmup, schedule, blend, settings.blend)


def deepspeed_config(config: PretrainConfig, world_size: int) -> dict:
    """ZeRO-3, bf16, overlapped communication, 16-bit weights gathered when saving."""
    stated = (f"{config.global_batch_tokens} tokens per step = {config.global_batch_samples} samples of "
              f"seq_length {config.seq_length}")
    return zero3_config(config, config.global_batch_samples, world_size, key="global_batch_tokens",
                        unit="samples", stated=stated)


def category_shares(blend: dict) -> Dict[str, Dict[str, float]]:
    """Per category: ``intended`` (the stage's share in the mixture config, Table 2) and ``in_blend`` (its
    share of the blend's tokens: what training samples by, once the data's limits are applied)."""
    in_blend: Dict[str, float] = {}
    for entry in blend["entries"]:
        name = entry.get("category") or "uncategorized"
        in_blend[name] = in_blend.get(name, 0.0) + float(entry["weight"])
    total = sum(in_blend.values()) or 1.0
    in_blend = {name: value / total for name, value in in_blend.items()}
    intended = dict(blend.get("target_shares") or {})
    if not intended and blend.get("category_budgets"):  # a blend written before target_shares existed
        budgets = blend["category_budgets"]
        intended = {name: value / (sum(budgets.values()) or 1.0) for name, value in budgets.items()}
    names = sorted(set(in_blend) | set(intended))
    return {name: {"intended": (float(intended[name]) if name in intended else None),
                   "in_blend": in_blend.get(name, 0.0)} for name in names}


def data_use(config: PretrainConfig, plan: StagePlan) -> dict:
    """How the stage's training tokens (steps x global batch) compare with the tokens in its blend: the
    epochs of every group that means (a group's share of the stage's samples over the tokens it has), the
    category shares intended and realised, and warnings: a group repeated more than :data:`MAX_EPOCHS` times,
    or a blend planned for another budget than the stage trains."""
    train_tokens = plan.steps * config.global_batch_tokens
    groups: Dict[str, Dict[str, float]] = {}
    for entry in plan.blend["entries"]:
        group = groups.setdefault(entry.get("group") or entry["prefix"], {"weight": 0.0, "available": 0.0})
        group["weight"] += float(entry["weight"])
        group["available"] += float(entry.get("available_tokens") or 0)
    epochs = {name: (train_tokens * g["weight"] / g["available"] if g["available"] else float("inf"))
              for name, g in sorted(groups.items())}
    blend_tokens = int(plan.blend.get("planned_tokens") or sum(e.get("used_tokens", 0) for e in plan.blend["entries"]))
    warnings = []
    over = {name: value for name, value in epochs.items() if value > MAX_EPOCHS}
    if over:
        worst = max(over, key=over.get)
        warnings.append(f"stage {plan.stage} trains {train_tokens:,} tokens on a blend whose groups hold "
                        f"{int(sum(g['available'] for g in groups.values())):,}: {len(over)} of {len(epochs)} "
                        f"groups would be seen more than {MAX_EPOCHS:g} times ({worst}: {over[worst]:.1f} epochs), "
                        f"where repeated tokens are worth much less than new ones; tokenize more data, or lower "
                        f"stages.{plan.stage}.tokens")
    if blend_tokens and train_tokens > 1.05 * blend_tokens:
        warnings.append(f"stage {plan.stage} trains {train_tokens:,} tokens (stages.{plan.stage}.tokens, in whole "
                        f"steps), {train_tokens / blend_tokens:.1f} times the {blend_tokens:,} its blend "
                        f"{plan.blend_path} was planned for, so every group is repeated that much more than the "
                        f"blend's epochs say; rebuild the blend for the stages' budgets (build_mixture.py "
                        f"--total-tokens: both stages' tokens together) or lower stages.{plan.stage}.tokens")
    return {"train_tokens": train_tokens, "blend_tokens": blend_tokens,
            "epochs_per_group": {name: round(value, 3) for name, value in epochs.items()},
            "category_shares": category_shares(plan.blend), "warnings": warnings}


def stage_run_plan(config: PretrainConfig, plan: StagePlan) -> dict:
    """What ``<output_dir>/stage-N`` is made from (``training/engine/run_plan.py``): the shared settings and
    this stage's own (the other stages' are not its business), its blend by content and its token shards by
    size and modification time; stage 1 its model (the folder's identity, through the settings), a later
    stage the weights of the previous stage's export, which replace the model for it."""
    from training.engine.run_layout import export_record
    from training.engine.run_plan import run_plan

    settings = asdict(config)
    settings.pop("megatron")  # only --backend megatron's printout
    settings["stages"] = {str(plan.stage): {"tokens": plan.tokens, "max_lr": plan.schedule.max_lr}}
    drop = []
    inputs = {"stage": plan.stage}
    inputs["blend_sha256"] = content_digest(plan.blend_path)
    shards = sorted(entry["prefix"] + ext for entry in plan.blend["entries"] for ext in (".bin", ".idx"))
    inputs["shards"] = files_identity(shards)
    if plan.stage > 1:
        drop = ["model", "random_init", "model_config"]
        record = export_record(config.stage_dir(plan.stage - 1)) or {}
        inputs["previous_stage_weights_sha256"] = record.get("weights_sha256")
    return run_plan("pretrain", settings, drop=drop, inputs=inputs)


def megatron_argv(config: PretrainConfig, plan: StagePlan, nodes: int, nproc_per_node: int) -> List[str]:
    """The equivalent Megatron-LM / Pai-Megatron-Patch command: sample-based budget, warm-up and decay
    for the same token counts; stage 2 starts from stage 1 with ``--pretrained-checkpoint``."""
    samples = steps_for_tokens(plan.tokens, config.global_batch_tokens) * config.global_batch_samples
    megatron = config.megatron
    argv = ["torchrun", f"--nnodes={nodes}", f"--nproc_per_node={nproc_per_node}", megatron.script,
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
