"""Supervised fine-tuning with neat packing on DeepSpeed ZeRO-3 (paper §4.1.2): every rank runs this.

Step ``s`` takes rows ``[s * R, (s + 1) * R)`` of the run's row order (epochs of shuffled packed rows,
``training/sft/dataset.py``), R = ``rows_per_step``; rank r's micro-batch a takes the
``micro_batch_size`` rows at ``s * R + (a * world + r) * micro_batch_size``. Each row holds whole
conversations; attention stays within a conversation (a block-diagonal mask for eager/SDPA attention,
the reset position ids for FlashAttention-2), positions restart at 0 per conversation, and the loss is
the mean over the micro-batch's assistant tokens. Checkpoints, SIGTERM, logging and the final export
are the shared loop's (``training/engine/step_loop.py``); a rerun resumes from the newest checkpoint.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

from common.tokenizer import load_tokenizer
from training.engine.lm_loss import next_token_loss
from training.engine.model_builder import parameter_count
from training.engine.post_training_settings import tokenizer_spec
from training.engine.run_layout import latest_checkpoint
from training.engine.settings import zero3_config
from training.engine.step_log import StepLogger
from training.engine.step_loop import (
    TermSignal,
    TrainingRun,
    device_peak,
    from_rank_zero,
    init_distributed,
    open_run,
    run_steps,
)
from training.engine.throughput import model_flops_per_token
from training.sft.chat_template import ChatML
from training.sft.dataset import PackedSftDataset, build_packed, cache_key
from training.sft.packing import block_diagonal_mask, collate
from training.sft.training_config import SftTrainConfig


def packed_folder(config: SftTrainConfig) -> str:
    """The packed-data cache of this config, built if missing (by the caller's process)."""
    from common.tokenizer import tokenizer_source

    spec = tokenizer_spec(config)
    key = cache_key(config.data, tokenizer_source(spec), config.seq_length, config.system_prompt)
    folder = os.path.join(config.output_dir, "packed", key)
    if not os.path.isdir(folder):
        build_packed(config.data, ChatML(load_tokenizer(spec), config.system_prompt), config.seq_length, folder)
    return folder


def sft_loss(engine, batch: dict, flash: bool, dtype: torch.dtype):
    """The micro-batch's token losses summed and divided by ``batch["denominator"]``, its share of the
    step's token mean (see ``step_denominator``); the mean over the micro-batch without it."""
    mask = None if flash else block_diagonal_mask(batch["segment_ids"], dtype)
    logits = engine(input_ids=batch["input_ids"], position_ids=batch["position_ids"], attention_mask=mask).logits
    return next_token_loss(logits[:, :-1], batch["labels"][:, 1:], denominator=batch.get("denominator")), {}


def step_denominator(dataset: PackedSftDataset, first_row: int, rows: int, micro_batches_per_step: int) -> float:
    """The loss of a step is the mean over all its trained tokens, however its rows are split into
    micro-batches and processes (the gradient-accumulation fix of transformers 4.46; Megatron's
    ``--calculate-per-token-loss``). DeepSpeed divides each micro-batch loss by the accumulation steps
    and averages gradients over the processes, so a micro-batch's token-loss sum is divided by the
    step's trained tokens over the number of micro-batches in the whole step."""
    tokens = sum(dataset.trained_tokens(p) for p in range(first_row, first_row + rows))
    return max(tokens, 1) / micro_batches_per_step


def train_sft(config: SftTrainConfig) -> str:
    term = TermSignal()
    init_distributed()
    rank, world = dist.get_rank(), dist.get_world_size()
    run_dir = config.output_dir
    if rank == 0:
        folder = packed_folder(config)
    dist.barrier()
    if rank != 0:
        folder = packed_folder(config)
    chatml = ChatML(load_tokenizer(tokenizer_spec(config)), config.system_prompt)
    dataset = PackedSftDataset(folder, chatml.pad, config.seed)
    steps, schedule = config.steps(len(dataset)), config.schedule(len(dataset))
    log = StepLogger(run_dir, rank == 0, config.tensorboard)
    ds_config = zero3_config(config, config.rows_per_step, world, key="rows_per_step")
    latest = from_rank_zero(latest_checkpoint(run_dir))
    resume_tag = None if latest is None else latest["tag"]
    engine, model, keep_alive, step = open_run(config, run_dir, ds_config, resume_tag, log,
                                               steps=steps, rows=len(dataset), examples=dataset.meta["examples"],
                                               too_long=dataset.meta["too_long"],
                                               bad_format=dataset.meta["bad_format"])
    rows_per_step, micro = config.rows_per_step, config.micro_batch_size
    accumulation = ds_config["gradient_accumulation_steps"]
    flash = config.attn_implementation == "flash_attention_2"
    dtype = torch.bfloat16 if config.precision == "bf16" else torch.float32

    def micro_batches(step: int):
        denominator = step_denominator(dataset, step * rows_per_step, rows_per_step, accumulation * world)
        for a in range(accumulation):
            first = step * rows_per_step + (a * world + rank) * micro
            batch = collate([dataset.row_at(p) for p in range(first, first + micro)])
            yield {**{k: v.to(engine.device) for k, v in batch.items()}, "denominator": denominator}

    run = TrainingRun(
        run_dir=run_dir, steps=steps, schedule=schedule, save_every_steps=config.save_every_steps,
        keep_checkpoints=config.keep_checkpoints, micro_batches=micro_batches,
        micro_loss=lambda engine, batch: sft_loss(engine, batch, flash, dtype),
        tokens_in_step=lambda step: rows_per_step * config.seq_length,
        flops_per_token=model_flops_per_token(model.config, parameter_count(model), config.seq_length),
        peak_tflops=device_peak(config.peak_tflops),
        step_record=lambda done: {"consumed_rows": done * rows_per_step, "epoch": done * rows_per_step / len(dataset)},
        client_state=lambda done: {"consumed_rows": done * rows_per_step},
        export_record=lambda done: {"rows": done * rows_per_step, "examples": dataset.meta["examples"]})
    status = run_steps(engine, model, run, step, log, term)
    log.close()
    del keep_alive
    return status


__all__ = ["train_sft", "packed_folder", "sft_loss", "step_denominator"]
