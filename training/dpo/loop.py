"""DPO on DeepSpeed ZeRO-3 (paper §4.2): every rank runs this.

* **Pairs**: ``build_preferences.py``'s ``preferences.jsonl``, tokenized once and cached
  (``training/dpo/pairs.py``); pairs longer than ``max_length`` are left out and counted in the start
  record.
* **Reference log-probs, precomputed and cached**: the reference is the starting policy, so before the
  first step the engine itself scores every pair (no gradients; ranks take interleaved shares in equal
  numbers of batches and gather them), and rank 0 saves ``reference_logps.npy``. No second model is held
  in memory, and a resumed run reads the cache instead of scoring with trained weights.
* **Steps**: step ``s`` takes pairs ``[s * P, (s + 1) * P)`` of the run's pair order (epochs shuffled
  with ``RandomState(seed, epoch)``); a micro-batch of m pairs is one forward over 2m rows (chosen, then
  rejected), padded to its longest row. Loss: sigmoid DPO with ``beta``; logged with the implicit
  rewards (``chosen_reward``, ``rejected_reward``, ``reward_margin``, ``reward_accuracy``).
"""

from __future__ import annotations

import os
from typing import Dict, List, Tuple

import numpy as np
import torch
import torch.distributed as dist

from common.atomic_io import save_npy
from common.tokenizer import load_tokenizer
from training.dpo.loss import dpo_loss, sequence_logps
from training.dpo.pairs import Pair, cached_pairs
from training.dpo.training_config import DpoTrainConfig
from training.engine.lm_loss import IGNORE_INDEX
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
from training.sft.packing import TokenizedExample

REFERENCE_FILE = "reference_logps.npy"


def dpo_pairs(config: DpoTrainConfig) -> Tuple[ChatML, List[Pair], Dict[str, int]]:
    """(template, pairs, skipped counts) of the config's data, through the tokenized-pairs cache."""
    from common.tokenizer import tokenizer_source

    spec = tokenizer_spec(config)
    chatml = ChatML(load_tokenizer(spec), config.system_prompt)
    pairs, skipped = cached_pairs(config.data, chatml, tokenizer_source(spec), config.max_length,
                                  config.system_prompt, config.output_dir)
    return chatml, pairs, skipped


def pad_rows(examples: List[TokenizedExample], pad_id: int, device) -> Dict[str, torch.Tensor]:
    width = max(len(e) for e in examples)
    ids = [list(e.input_ids) + [pad_id] * (width - len(e)) for e in examples]
    labels = [list(e.labels) + [IGNORE_INDEX] * (width - len(e)) for e in examples]
    mask = [[1] * len(e) + [0] * (width - len(e)) for e in examples]
    return {"input_ids": torch.tensor(ids, device=device), "labels": torch.tensor(labels, device=device),
            "attention_mask": torch.tensor(mask, device=device)}


def batch_logps(engine, examples: List[TokenizedExample], pad_id: int) -> torch.Tensor:
    rows = pad_rows(examples, pad_id, engine.device)
    logits = engine(input_ids=rows["input_ids"], attention_mask=rows["attention_mask"]).logits
    return sequence_logps(logits, rows["labels"])


def reference_logps(engine, pairs, pad_id: int, micro: int, run_dir: str) -> np.ndarray:
    """[pairs, 2] log-probs of (chosen, rejected) under the starting policy, cached in ``run_dir``."""
    path = os.path.join(run_dir, REFERENCE_FILE)
    if os.path.isfile(path):
        cached = np.load(path)
        if cached.shape != (len(pairs), 2):
            raise RuntimeError(f"{path} holds {cached.shape[0]} pairs, the data {len(pairs)}: the data changed "
                               "since this run started; use a new output_dir")
        return cached
    rank, world = dist.get_rank(), dist.get_world_size()
    mine = list(range(rank, len(pairs), world))
    batches = -(-len(pairs) // (world * micro))  # the same number of forwards on every rank (ZeRO-3)
    values = torch.zeros(batches * micro, 2, dtype=torch.float64, device=engine.device)
    engine.eval()
    with torch.no_grad():
        for b in range(batches):
            chunk = mine[b * micro:(b + 1) * micro] or [0]  # a rank with nothing left scores pair 0, discarded
            examples = [pairs[i][0] for i in chunk] + [pairs[i][1] for i in chunk]
            logps = batch_logps(engine, examples, pad_id).double()
            n = len(chunk)
            values[b * micro:b * micro + n, 0] = logps[:n]
            values[b * micro:b * micro + n, 1] = logps[n:]
    engine.train()
    gathered = [torch.zeros_like(values) for _ in range(world)]
    dist.all_gather(gathered, values)
    result = np.zeros((len(pairs), 2))
    for r in range(world):
        owned = list(range(r, len(pairs), world))
        result[owned] = gathered[r][:len(owned)].cpu().numpy()
    if rank == 0:
        save_npy(path, result)
    dist.barrier()
    return result


def train_dpo(config: DpoTrainConfig) -> str:
    term = TermSignal()
    init_distributed()
    rank, world = dist.get_rank(), dist.get_world_size()
    run_dir = config.output_dir
    if rank == 0:  # rank 0 tokenizes when the launcher has not, the others read its cache
        chatml, pairs, skipped = dpo_pairs(config)
    dist.barrier()
    if rank != 0:
        chatml, pairs, skipped = dpo_pairs(config)
    steps, schedule = config.steps(len(pairs)), config.schedule(len(pairs))
    log = StepLogger(run_dir, rank == 0, config.tensorboard)
    ds_config = zero3_config(config, config.pairs_per_step, world, key="pairs_per_step")
    latest = from_rank_zero(latest_checkpoint(run_dir))
    if latest is not None and not os.path.isfile(os.path.join(run_dir, REFERENCE_FILE)):
        raise RuntimeError(f"{run_dir}: a checkpoint without {REFERENCE_FILE}; the reference cannot be rebuilt "
                           "from trained weights")
    resume_tag = None if latest is None else latest["tag"]
    engine, model, keep_alive, step = open_run(config, run_dir, ds_config, resume_tag, log, steps=steps,
                                               pairs=len(pairs), **skipped)
    reference = torch.tensor(reference_logps(engine, pairs, chatml.pad, config.micro_batch_size, run_dir))
    per_step, micro = config.pairs_per_step, config.micro_batch_size
    accumulation = ds_config["gradient_accumulation_steps"]
    orders: Dict[int, np.ndarray] = {}

    def pair_at(position: int) -> int:
        epoch, within = divmod(position, len(pairs))
        if epoch not in orders:
            orders.clear()
            orders[epoch] = np.random.RandomState([config.seed, epoch]).permutation(len(pairs))
        return int(orders[epoch][within])

    def micro_batches(step: int):
        for a in range(accumulation):
            first = step * per_step + (a * world + rank) * micro
            yield [pair_at(p) for p in range(first, first + micro)]

    def micro_loss(engine, indices: List[int]):
        examples = [pairs[i][0] for i in indices] + [pairs[i][1] for i in indices]
        logps = batch_logps(engine, examples, chatml.pad)
        ref = reference[indices].to(logps.device, logps.dtype)
        n = len(indices)
        loss, chosen, rejected = dpo_loss(logps[:n], logps[n:], ref[:, 0], ref[:, 1], config.beta)
        return loss, {"chosen_reward": chosen.mean(), "rejected_reward": rejected.mean(),
                      "reward_margin": (chosen - rejected).mean(), "reward_accuracy": (chosen > rejected).float().mean()}

    mean_tokens = float(np.mean([len(c) + len(r) for c, r in pairs])) if pairs else 0.0
    run = TrainingRun(
        run_dir=run_dir, steps=steps, schedule=schedule, save_every_steps=config.save_every_steps,
        keep_checkpoints=config.keep_checkpoints, micro_batches=micro_batches, micro_loss=micro_loss,
        tokens_in_step=lambda step: int(per_step * mean_tokens),
        flops_per_token=model_flops_per_token(model.config, parameter_count(model), config.max_length),
        peak_tflops=device_peak(config.peak_tflops),
        step_record=lambda done: {"consumed_pairs": done * per_step, "epoch": done * per_step / len(pairs)},
        client_state=lambda done: {"consumed_pairs": done * per_step},
        export_record=lambda done: {"pairs": done * per_step, "beta": config.beta})
    status = run_steps(engine, model, run, step, log, term)
    log.close()
    del keep_alive
    return status


__all__ = ["train_dpo", "dpo_pairs", "reference_logps", "REFERENCE_FILE"]
