"""The training loop every launcher shares (pretraining, SFT, DPO) on a DeepSpeed ZeRO-3 engine.

A job describes itself with a :class:`TrainingRun`: how many optimizer steps, the learning rate of each
step, this rank's micro-batches of a step and the loss of one. The loop owns the rest, identically for
every job:

* the LR of step ``s`` (0-based) is ``schedule(s)``, set on the optimizer before the step: the
  schedule's only state is the step, so resuming needs nothing else;
* one step = the rank's micro-batches (as many as the engine's gradient-accumulation steps), each
  forward, backward and ``engine.step()``;
* per-step log record (console, JSONL, TensorBoard): loss and the job's metrics averaged over
  micro-batches and ranks, lr, grad-norm before clipping, tokens/s, TFLOP/s per device, MFU, memory,
  plus the job's own fields;
* ``open_run`` builds the engine from the starting weights, or from the run's newest checkpoint (model,
  optimizer, step, RNG), and logs the start or the resume;
* checkpoints every ``save_every_steps``, at the last step, and on SIGTERM (all ranks agree through an
  all-reduce at the end of the step); the 16-bit weights exported to ``final/`` when the run ends.
"""

from __future__ import annotations

import os
import resource
import signal
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, Optional, Tuple

import torch
import torch.distributed as dist

from training.engine import checkpoints
from training.engine.model_builder import build_model, optimizer_groups
from training.engine.step_log import StepLogger
from training.engine.throughput import mfu, peak_tflops


class TermSignal:
    """Remembers a SIGTERM instead of dying mid-step."""

    def __init__(self) -> None:
        self.received = False
        signal.signal(signal.SIGTERM, self._handle)

    def _handle(self, signum, frame) -> None:
        self.received = True


@dataclass
class TrainingRun:
    run_dir: str
    steps: int
    schedule: Callable[[int], float]
    save_every_steps: int
    keep_checkpoints: int
    micro_batches: Callable[[int], Iterable[Any]]                       # step -> this rank's micro-batches
    micro_loss: Callable[[Any, Any], Tuple[torch.Tensor, Dict[str, torch.Tensor]]]  # (engine, micro)
    tokens_in_step: Callable[[int], int]                                # global tokens of a step
    flops_per_token: float = 0.0
    peak_tflops: Optional[float] = None
    step_record: Callable[[int], dict] = field(default=lambda step: {})  # extra log fields after step
    client_state: Callable[[int], dict] = field(default=lambda step: {})  # saved with a checkpoint
    export_record: Callable[[int], dict] = field(default=lambda step: {})


def init_distributed() -> None:
    import deepspeed

    # DeepSpeed 0.19's ZeRO-3 calls collectives torch 2.13 renamed; one warning per call otherwise.
    warnings.filterwarnings("ignore", message=r".*torch\.distributed\.\w+` is deprecated", category=FutureWarning)
    if not dist.is_initialized():
        deepspeed.init_distributed(dist_backend="nccl" if torch.cuda.is_available() else "gloo")
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))


def from_rank_zero(value):
    """Rank 0's ``value`` on every rank. Where to start is read from the run directory by rank 0, which
    holds the directory's lock (common/run_lock.py), so all ranks resume from the same checkpoint."""
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def memory_gib() -> float:
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def device_peak(override: Optional[float]) -> Optional[float]:
    if override:
        return override
    return peak_tflops(torch.cuda.get_device_name()) if torch.cuda.is_available() else None


def make_engine(source: str, random_init: bool, model_config: dict, settings, ds_config: dict):
    """(engine, model, keep_alive) for a Hugging Face causal LM under ZeRO-3 with torch AdamW.
    ``settings`` carries attn_implementation, precision, seed, gradient_checkpointing, weight_decay,
    adam_beta1 and adam_beta2."""
    import deepspeed

    model, keep_alive = build_model(source, random_init=random_init, model_config=model_config,
                                    attn_implementation=settings.attn_implementation, ds_config=ds_config,
                                    precision=settings.precision, seed=settings.seed)
    if settings.gradient_checkpointing:
        model.gradient_checkpointing_enable()
    optimizer = torch.optim.AdamW(optimizer_groups(model, settings.weight_decay), lr=0.0,
                                  betas=(settings.adam_beta1, settings.adam_beta2))
    engine, _, _, _ = deepspeed.initialize(model=model, optimizer=optimizer, config=ds_config)
    return engine, model, keep_alive


def open_run(settings, run_dir: str, ds_config: dict, resume_tag: Optional[str], log: StepLogger, *,
             source: Optional[str] = None, random_init: Optional[bool] = None, model_config: Optional[dict] = None,
             run_fields: Optional[dict] = None, resume_fields: Callable[[int], dict] = lambda step: {},
             **start_fields):
    """(engine, model, keep_alive, first step) of a run that starts from ``source`` or resumes checkpoint
    ``resume_tag`` of ``run_dir`` (then only the architecture is built: the checkpoint has the weights);
    logs the start (with the starting weights' SHA-256) or the resume.

    ``source``, ``random_init`` and ``model_config`` default to the settings' ``model``, ``random_init`` and
    ``model_config`` (a later pretraining stage starts from the previous stage's export instead).
    ``run_fields`` lead both log records; ``resume_fields(step)`` follow the resume record's step and
    ``start_fields`` the start record's world size."""
    source = settings.model if source is None else source
    random_init = settings.random_init if random_init is None else random_init
    model_config = settings.model_config if model_config is None else model_config
    run_fields = run_fields or {}
    engine, model, keep_alive = make_engine(source, resume_tag is not None or random_init, model_config, settings,
                                            ds_config)
    if resume_tag is not None:
        step = checkpoints.load(engine, run_dir, resume_tag)["step"]
        log.event("resume", **run_fields, step=step, **resume_fields(step), checkpoint=resume_tag)
        return engine, model, keep_alive, step
    log.event("start", **run_fields, init_from=source, world_size=dist.get_world_size(), **start_fields,
              weights_sha256=checkpoints.weights_sha256(engine))
    return engine, model, keep_alive, 0


def run_steps(engine, model, run: TrainingRun, first_step: int, log: StepLogger, term: TermSignal) -> str:
    """Steps ``first_step`` .. ``run.steps``; "finished" (weights exported) or "stopped" (SIGTERM)."""
    world = dist.get_world_size()
    step = first_step
    while step < run.steps:
        lr = run.schedule(step)
        for group in engine.optimizer.param_groups:
            group["lr"] = lr
        began = time.perf_counter()
        losses, metrics = [], defaultdict(list)
        for micro in run.micro_batches(step):
            loss, extra = run.micro_loss(engine, micro)
            engine.backward(loss)
            engine.step()
            losses.append(loss.detach().float())
            for key, value in extra.items():
                metrics[key].append(value.detach().float())
        grad_norm = float(engine.get_global_grad_norm() or 0.0)
        names = sorted(metrics)
        summary = torch.stack([torch.stack(losses).mean()] + [torch.stack(metrics[k]).mean() for k in names])
        flags = torch.tensor([float(term.received)], dtype=torch.float32, device=summary.device)
        dist.all_reduce(summary)
        dist.all_reduce(flags, op=dist.ReduceOp.MAX)
        summary = (summary / world).tolist()
        elapsed = time.perf_counter() - began
        tokens_per_s = run.tokens_in_step(step) / elapsed
        step += 1
        tflops = run.flops_per_token * tokens_per_s / world / 1e12
        log.step({"step": step, "steps": run.steps, "loss": summary[0], "lr": lr, "grad_norm": grad_norm,
                  **dict(zip(names, summary[1:])), "tokens_per_s": tokens_per_s, "tflops_per_device": tflops,
                  "mfu": mfu(tflops, run.peak_tflops), "memory_gib": memory_gib(), **run.step_record(step)})
        stop = bool(flags.item())
        if step % run.save_every_steps == 0 or step == run.steps or stop:
            tag = checkpoints.save(engine, run.run_dir, step, run.client_state(step), run.keep_checkpoints)
            log.event("checkpoint", step=step, tag=tag)
        if stop:
            log.event("stopped", reason="SIGTERM", step=step)
            return "stopped"
    digest = checkpoints.export_final(engine, model, run.run_dir, {"step": step, **run.export_record(step)})
    log.event("final", step=step, folder=os.path.join(run.run_dir, "final"), weights_sha256=digest)
    return "finished"


__all__ = ["TrainingRun", "TermSignal", "run_steps", "open_run", "make_engine", "init_distributed", "from_rank_zero",
           "memory_gib", "device_peak"]
