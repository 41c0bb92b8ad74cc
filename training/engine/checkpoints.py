"""Checkpoints of a training run (a pretraining stage, SFT, DPO) under DeepSpeed ZeRO-3, and the final
Hugging Face export, in the run folder's layout (``run_layout.py``).

* ``save``: ``engine.save_checkpoint`` (every rank writes its partition of the weights and the Adam
  state) with the step and the job's own counters as client state, plus each rank's RNG states; only when
  every rank is done does rank 0 point ``checkpoints/latest.json`` at it (written atomically), so a
  job killed while saving resumes from the previous complete checkpoint. Older checkpoints beyond
  ``keep`` are removed afterwards. A write that fails (a full disk, a quota) is :class:`CheckpointNotWritten`,
  naming the path, with ``latest.json`` left on the previous complete checkpoint and the unfinished one removed.
* ``load``: the same engine state back, and the RNG states.
* ``export_final``: the 16-bit weights gathered from all ranks
  (``stage3_gather_16bit_weights_on_model_save``) written by rank 0 with ``save_pretrained`` as
  safetensors, with ``export.json`` (step, the job's own fields such as stage and tokens, and a SHA-256 of
  the weights) written last.
* ``gathered_weights`` / ``weights_sha256``: the 16-bit weights gathered from all ranks, and their
  SHA-256 (the export's, or that of the weights a run starts from).
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
from typing import Dict, Optional

import numpy as np
import torch
import torch.distributed as dist

from common.atomic_io import write_json
from training.engine.run_layout import EXPORT_RECORD, LATEST, checkpoints_dir, final_dir, latest_checkpoint


def tag_for(step: int) -> str:
    return f"step-{step:08d}"


def rng_state() -> dict:
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class CheckpointNotWritten(RuntimeError):
    """A checkpoint could not be written; ``latest.json`` still names the previous one."""


def _not_written(folder: str, tag: str, exc: Exception) -> CheckpointNotWritten:
    if dist.get_rank() == 0:
        shutil.rmtree(os.path.join(folder, tag), ignore_errors=True)   # the unfinished one, as far as it goes
    try:
        previous = latest_checkpoint(os.path.dirname(folder))
    except Exception:
        previous = None
    if isinstance(exc, OSError) and exc.strerror:
        cause = f"{exc.strerror}: {exc.filename or os.path.join(folder, tag)}"
    else:   # torch's writer says "unexpected pos ..." when the disk fills under it
        cause = f"{str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__} " \
                f"(writing {os.path.join(folder, tag)})"
    try:
        stats = os.statvfs(folder)
        cause += f"; {stats.f_bavail * stats.f_frsize / (1 << 20):.0f} MiB free there"
    except OSError:
        pass
    kept = f"{LATEST} still names {previous['tag']}" if previous else f"no earlier checkpoint in {folder}"
    return CheckpointNotWritten(f"checkpoint {tag} not written: {cause}; {kept}; "
                                "make room and rerun the same command to resume from it")


def save(engine, run_dir: str, step: int, client_state: Dict[str, int], keep: int) -> str:
    folder = checkpoints_dir(run_dir)
    tag = tag_for(step)
    rank = dist.get_rank()
    try:
        engine.save_checkpoint(folder, tag=tag, client_state={"job": {"step": step, **client_state}},
                               save_latest=False)
        torch.save(rng_state(), os.path.join(folder, tag, f"rng-rank{rank:05d}.pt"))
    except (OSError, RuntimeError) as exc:   # this rank leaves; the launcher stops the others
        raise _not_written(folder, tag, exc) from None
    dist.barrier()
    if rank == 0:
        try:
            write_json(os.path.join(folder, LATEST), {"tag": tag, "step": step, **client_state})
        except OSError as exc:
            raise _not_written(folder, tag, exc) from None
        if keep:
            tags = sorted(name for name in os.listdir(folder) if name.startswith("step-"))
            for old in tags[:-keep]:
                shutil.rmtree(os.path.join(folder, old), ignore_errors=True)
    dist.barrier()
    return tag


def load(engine, run_dir: str, tag: str) -> Dict[str, int]:
    """The engine's state back from checkpoint ``tag``; returns its client state (``step`` and the
    job's counters)."""
    folder = checkpoints_dir(run_dir)
    _, client = engine.load_checkpoint(folder, tag=tag)
    if client is None or "job" not in client:
        raise RuntimeError(f"{os.path.join(folder, tag)}: DeepSpeed could not load this checkpoint")
    path = os.path.join(folder, tag, f"rng-rank{dist.get_rank():05d}.pt")
    if os.path.isfile(path):  # written by a run with the same number of ranks
        set_rng_state(torch.load(path, weights_only=False))
    return dict(client["job"])


def weights_digest(state_dict: Dict[str, torch.Tensor]) -> str:
    """SHA-256 over the tensors' names, dtypes, shapes and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def gathered_weights(engine) -> Dict[str, torch.Tensor]:
    """The 16-bit weights gathered from every rank's ZeRO-3 partition; every rank must call it, and the
    full state dict is rank 0's."""
    return engine._zero3_consolidated_16bit_state_dict()


def weights_sha256(engine) -> str:
    """SHA-256 of the engine's current 16-bit weights on rank 0, "" on the others (every rank takes part
    in the gather)."""
    state_dict = gathered_weights(engine)
    return weights_digest(state_dict) if dist.get_rank() == 0 else ""


def export_final(engine, model, run_dir: str, record: dict) -> Optional[str]:
    """The run's final weights as a Hugging Face folder; returns the weights' digest on rank 0."""
    state_dict = gathered_weights(engine)  # every rank takes part in the gather
    digest = None
    if dist.get_rank() == 0:
        folder = final_dir(run_dir)
        if os.path.isdir(folder):
            shutil.rmtree(folder)
        os.makedirs(folder)
        digest = weights_digest(state_dict)
        model.save_pretrained(folder, state_dict=state_dict, safe_serialization=True)
        write_json(os.path.join(folder, EXPORT_RECORD), {**record, "weights_sha256": digest})
    dist.barrier()
    return digest


__all__ = ["save", "load", "export_final", "gathered_weights", "weights_sha256", "weights_digest", "tag_for",
           "rng_state", "set_rng_state"]
