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
import resource
import signal
import time
import warnings
from dataclasses import dataclass
from typing import Dict, List

import numpy as np
import torch
import torch.distributed as dist

from training import checkpoints
from training.blended_dataset import BlendedDataset, sources_from_blend
from training.launch_plan import StagePlan, deepspeed_config
from training.lm_loss import next_token_loss
from training.model_builder import build_model, optimizer_groups, parameter_count
from training.pretrain_config import PretrainConfig
from training.stage_start import StageStart
from training.step_log import StepLogger
from training.throughput import mfu, model_flops_per_token, peak_tflops


class _TermSignal:
    """Remembers a SIGTERM instead of dying mid-step."""

    def __init__(self) -> None:
        self.received = False
        signal.signal(signal.SIGTERM, self._handle)

    def _handle(self, signum, frame) -> None:
        self.received = True


@dataclass
class CategoryShares:
    """Realized token share per data category over the samples consumed so far, against the target."""

    categories: List[str]
    of_source: np.ndarray          # category index of every blend entry
    targets: np.ndarray
    counts: np.ndarray

    @classmethod
    def from_blend(cls, blend: dict) -> "CategoryShares":
        names = sorted({e.get("category") or "uncategorized" for e in blend["entries"]})
        of_source = np.array([names.index(e.get("category") or "uncategorized") for e in blend["entries"]])
        targets = np.bincount(of_source, weights=[float(e["weight"]) for e in blend["entries"]],
                              minlength=len(names))
        return cls(names, of_source, targets / targets.sum(), np.zeros(len(names), dtype=np.int64))

    def add(self, source_index: np.ndarray) -> None:
        self.counts += np.bincount(self.of_source[source_index.astype(np.int64)], minlength=len(self.categories))

    def record(self) -> Dict[str, float]:
        total = max(1, int(self.counts.sum()))
        out = {}
        for i, name in enumerate(self.categories):
            out[f"share/{name}"] = float(self.counts[i] / total)
            out[f"target/{name}"] = float(self.targets[i])
        return out


def init_distributed() -> None:
    import deepspeed

    # DeepSpeed 0.19's ZeRO-3 calls collectives torch 2.13 renamed; one warning per call otherwise.
    warnings.filterwarnings("ignore", message=r".*torch\.distributed\.\w+` is deprecated", category=FutureWarning)
    if not dist.is_initialized():
        deepspeed.init_distributed(dist_backend="nccl" if torch.cuda.is_available() else "gloo")
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))


def memory_gib() -> float:
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def device_peak(config: PretrainConfig):
    if config.peak_tflops:
        return config.peak_tflops
    return peak_tflops(torch.cuda.get_device_name()) if torch.cuda.is_available() else None


def train_stage(config: PretrainConfig, plan: StagePlan, start: StageStart) -> str:
    """Trains the stage to its end ("finished") or to a SIGTERM ("stopped")."""
    import deepspeed

    term = _TermSignal()
    init_distributed()
    rank, world = dist.get_rank(), dist.get_world_size()
    stage_dir = config.stage_dir(plan.stage)
    log = StepLogger(stage_dir, rank == 0, config.tensorboard)
    ds_config = deepspeed_config(config, world)
    resume = start.kind == "resume"
    if plan.stage > 1:
        source = config.stage_dir(plan.stage - 1) + "/final"
        model_config: dict = {}
    else:
        source, model_config = config.model, config.model_config
    # A resumed run only needs the architecture: its checkpoint overwrites every weight.
    model, keep_alive = build_model(source, random_init=resume or (plan.stage == 1 and config.random_init),
                                    model_config=model_config, attn_implementation=config.attn_implementation,
                                    ds_config=ds_config, precision=config.precision, seed=config.seed)
    if config.gradient_checkpointing:
        model.gradient_checkpointing_enable()
    optimizer = torch.optim.AdamW(optimizer_groups(model, config.weight_decay), lr=0.0,
                                  betas=(config.adam_beta1, config.adam_beta2))
    engine, _, _, _ = deepspeed.initialize(model=model, optimizer=optimizer, config=ds_config)

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

    step, consumed = 0, 0
    if resume:
        state = checkpoints.load(engine, stage_dir, start.tag)
        step, consumed = state["step"], state["consumed_samples"]
        log.event("resume", stage=plan.stage, step=step, consumed_samples=consumed, checkpoint=start.tag)
    else:
        log.event("start", stage=plan.stage, steps=plan.steps, init_from=start.source, world_size=world,
                  weights_sha256=initial_digest(engine))
    shares = CategoryShares.from_blend(plan.blend)
    shares.add(dataset.source_index[:consumed])
    parameters = parameter_count(model)
    flops_token = model_flops_per_token(model.config, parameters, config.seq_length)
    peak = device_peak(config)
    tokens_per_step = global_samples * config.seq_length

    status = "finished"
    while step < plan.steps:
        lr = plan.schedule(step)
        for group in engine.optimizer.param_groups:
            group["lr"] = lr
        began = time.perf_counter()
        losses = []
        for a in range(accumulation):
            first = consumed + (a * world + rank) * micro
            batch = np.stack([dataset[i] for i in range(first, first + micro)]).astype(np.int64)
            losses.append(micro_step(engine, torch.from_numpy(batch).to(engine.device)))
        grad_norm = float(engine.get_global_grad_norm() or 0.0)
        mean_loss = torch.stack(losses).mean()
        flags = torch.tensor([float(term.received)], dtype=torch.float32, device=mean_loss.device)
        dist.all_reduce(mean_loss)
        dist.all_reduce(flags, op=dist.ReduceOp.MAX)
        elapsed = time.perf_counter() - began
        shares.add(dataset.source_index[consumed:consumed + global_samples])
        consumed += global_samples
        step += 1
        tokens_per_s = tokens_per_step / elapsed
        tflops = flops_token * tokens_per_s / world / 1e12
        log.step({"step": step, "steps": plan.steps, "loss": float(mean_loss) / world, "lr": lr,
                  "grad_norm": grad_norm, "tokens_per_s": tokens_per_s, "tflops_per_device": tflops,
                  "mfu": mfu(tflops, peak), "memory_gib": memory_gib(), "consumed_samples": consumed,
                  "consumed_tokens": consumed * config.seq_length, **shares.record()})
        stop = bool(flags.item())
        if step % config.save_every_steps == 0 or step == plan.steps or stop:
            tag = checkpoints.save(engine, stage_dir, step, consumed, config.keep_checkpoints)
            log.event("checkpoint", step=step, tag=tag)
        if stop:
            log.event("stopped", reason="SIGTERM", step=step)
            status = "stopped"
            break
    if status == "finished":
        digest = checkpoints.export_final(engine, model, stage_dir,
                                          {"stage": plan.stage, "step": step, "tokens": consumed * config.seq_length})
        log.event("final", step=step, folder=os.path.join(stage_dir, "final"), weights_sha256=digest)
    log.close()
    del keep_alive
    return status


def micro_step(engine, tokens: torch.Tensor) -> torch.Tensor:
    """Forward, backward and (at the accumulation boundary) the optimizer step on one micro-batch of
    ``seq_length + 1``-token samples; returns the detached loss."""
    logits = engine(input_ids=tokens[:, :-1]).logits
    loss = next_token_loss(logits, tokens[:, 1:])
    engine.backward(loss)
    engine.step()
    return loss.detach().float()


def initial_digest(engine) -> str:
    """SHA-256 of the 16-bit weights the stage starts from (gathered; every rank takes part)."""
    state_dict = engine._zero3_consolidated_16bit_state_dict()
    return checkpoints.weights_digest(state_dict) if dist.get_rank() == 0 else ""


__all__ = ["train_stage", "micro_step", "CategoryShares", "init_distributed", "memory_gib"]
