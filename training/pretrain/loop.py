"""One stage of continual pretraining on DeepSpeed ZeRO-3 (paper §3.2): every rank runs this.

Step ``s`` (0-based) consumes global samples ``[s * G, (s + 1) * G)`` of the stage's blended dataset,
G = ``global_batch_tokens / seq_length``; rank r's micro-batch a takes the ``micro_batch_size`` samples
at ``s * G + (a * world + r) * micro_batch_size``. Samples are a pure function of their position, so
resuming at ``consumed_samples`` continues exactly. The learning rate of step s is ``schedule(s)``,
set on the optimizer before the step; the schedule's only state is the step.

The loss is the mean next-token cross-entropy over every position of the micro-batch (samples are
``seq_length + 1`` tokens: inputs and shifted labels), averaged over micro-batches and ranks for the
log. SIGTERM (a preemption) is honoured at the end of the current step on every rank together: a
checkpoint is written and the stage returns "stopped"; rerunning the command resumes it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.distributed as dist

from training.data.blended_dataset import BlendedDataset, sources_from_blend
from training.engine.lm_loss import next_token_loss
from training.engine.model_builder import parameter_count
from training.engine.run_layout import final_dir
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
from training.pretrain.stage_plan import StagePlan, category_shares, data_use, deepspeed_config
from training.pretrain.stage_start import StageStart
from training.pretrain.training_config import PretrainConfig


@dataclass
class CategoryShares:
    """Token share per data category, three ways, logged side by side so that they are not confused:

    * ``mix_intended/<category>``: the stage's share in the mixture config (Table 2: English 0.32 in stage 1,
      0.28 in stage 2), from the blend's ``target_shares``;
    * ``mix_blend/<category>``: its share of the blend file's tokens, what the data allowed the planner to
      give it (on small data far from the intended one; ``pipelines/build_mixture.py`` warns);
    * ``mix_consumed/<category>``: its share of the samples consumed so far (converges to the blend's).
    """

    categories: List[str]
    of_source: np.ndarray          # category index of every blend entry
    intended: Dict[str, Optional[float]]
    in_blend: np.ndarray
    counts: np.ndarray

    @classmethod
    def from_blend(cls, blend: dict) -> "CategoryShares":
        names = sorted({e.get("category") or "uncategorized" for e in blend["entries"]})
        of_source = np.array([names.index(e.get("category") or "uncategorized") for e in blend["entries"]])
        weights = np.bincount(of_source, weights=[float(e["weight"]) for e in blend["entries"]], minlength=len(names))
        shares = category_shares(blend)
        return cls(names, of_source, {n: shares[n]["intended"] for n in names}, weights / weights.sum(),
                   np.zeros(len(names), dtype=np.int64))

    def add(self, source_index: np.ndarray) -> None:
        self.counts += np.bincount(self.of_source[source_index.astype(np.int64)], minlength=len(self.categories))

    def record(self) -> Dict[str, Optional[float]]:
        total = max(1, int(self.counts.sum()))
        out: Dict[str, Optional[float]] = {}
        for i, name in enumerate(self.categories):
            out[f"mix_consumed/{name}"] = float(self.counts[i] / total)
            out[f"mix_blend/{name}"] = float(self.in_blend[i])
            out[f"mix_intended/{name}"] = self.intended[name]
        return out


def train_stage(config: PretrainConfig, plan: StagePlan, start: StageStart) -> str:
    """Trains the stage to its end ("finished") or to a SIGTERM ("stopped")."""
    term = TermSignal()
    init_distributed()
    rank, world = dist.get_rank(), dist.get_world_size()
    start = from_rank_zero(start)
    stage_dir = config.stage_dir(plan.stage)
    log = StepLogger(stage_dir, rank == 0, config.tensorboard)
    ds_config = deepspeed_config(config, world)
    global_samples = config.global_batch_samples
    micro = config.micro_batch_size
    accumulation = ds_config["gradient_accumulation_steps"]
    cache_dir = os.path.join(stage_dir, "data-cache")
    if rank == 0:  # rank 0 builds the index cache, the others read it
        dataset = BlendedDataset(sources_from_blend(plan.blend), config.seq_length, plan.steps * global_samples,
                                 config.seed, cache_dir)
    dist.barrier()
    if rank != 0:
        dataset = BlendedDataset(sources_from_blend(plan.blend), config.seq_length, plan.steps * global_samples,
                                 config.seed, cache_dir)

    # Stage 1 starts from ``model``, a later stage from the previous stage's export (a resumed stage builds
    # the same architecture, and its checkpoint overwrites every weight).
    if plan.stage > 1:
        source, random_init, model_config = final_dir(config.stage_dir(plan.stage - 1)), False, {}
    else:
        source, random_init, model_config = config.model, config.random_init, config.model_config
    resume_tag = start.tag if start.kind == "resume" else None
    engine, model, keep_alive, step = open_run(
        config, stage_dir, ds_config, resume_tag, log, source=source, random_init=random_init,
        model_config=model_config, run_fields={"stage": plan.stage},
        resume_fields=lambda step: {"consumed_samples": step * global_samples}, steps=plan.steps)
    use = data_use(config, plan)
    log.event("mixture", stage=plan.stage, blend=plan.blend_path, train_tokens=use["train_tokens"],
              blend_tokens=use["blend_tokens"], epochs_per_group=use["epochs_per_group"],
              category_shares=use["category_shares"], warnings=use["warnings"])
    shares = CategoryShares.from_blend(plan.blend)
    shares.add(dataset.source_index[:step * global_samples])

    def micro_batches(step: int):
        for a in range(accumulation):
            first = step * global_samples + (a * world + rank) * micro
            batch = np.stack([dataset[i] for i in range(first, first + micro)]).astype(np.int64)
            yield torch.from_numpy(batch).to(engine.device)

    def step_record(done: int) -> dict:
        shares.add(dataset.source_index[(done - 1) * global_samples:done * global_samples])
        return {"consumed_samples": done * global_samples,
                "consumed_tokens": done * global_samples * config.seq_length, **shares.record()}

    run = TrainingRun(
        run_dir=stage_dir, steps=plan.steps, schedule=plan.schedule, save_every_steps=config.save_every_steps,
        keep_checkpoints=config.keep_checkpoints, micro_batches=micro_batches, micro_loss=pretraining_loss,
        tokens_in_step=lambda step: global_samples * config.seq_length,
        flops_per_token=model_flops_per_token(model.config, parameter_count(model), config.seq_length),
        peak_tflops=device_peak(config.peak_tflops), step_record=step_record,
        client_state=lambda done: {"consumed_samples": done * global_samples},
        export_record=lambda done: {"stage": plan.stage, "tokens": done * global_samples * config.seq_length})
    status = run_steps(engine, model, run, step, log, term)
    log.close()
    del keep_alive
    return status


def pretraining_loss(engine, tokens: torch.Tensor):
    """Next-token loss of one micro-batch of ``seq_length + 1``-token samples."""
    logits = engine(input_ids=tokens[:, :-1]).logits
    return next_token_loss(logits, tokens[:, 1:]), {}


def micro_step(engine, tokens: torch.Tensor) -> torch.Tensor:
    """Forward, backward and (at the accumulation boundary) the optimizer step on one micro-batch;
    returns the detached loss (bench/train_throughput.py times this)."""
    loss, _ = pretraining_loss(engine, tokens)
    engine.backward(loss)
    engine.step()
    return loss.detach().float()


__all__ = ["train_stage", "micro_step", "pretraining_loss", "CategoryShares"]
