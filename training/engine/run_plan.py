"""What a training run's folder was made from, so that a rerun continues it only when that is unchanged.

A run folder (a pretraining stage's ``<output_dir>/stage-N``, an SFT or DPO ``output_dir``) records its
plan in ``_plan.json`` (``common.atomic_io.check_plan``'s file) when the run first starts: the job, its
resolved settings, the identity (size and modification time, ``common.fingerprints``) of every local file
or folder they name (the model, the data file, a tokenizer) and the job's own inputs (a stage's blend,
by its content, and its token shards; the weights a later stage starts from). A rerun with the same plan
resumes from the newest checkpoint; a rerun with another plan is one error naming what changed, with two
ways out: another ``output_dir``, or ``--overwrite``, which empties the folder and starts afresh.

Settings that cannot change what a run computes are left out of the plan (:data:`PLAN_DROP`), so they can
change between a stop and a resume: where the folder is (``output_dir``), logging (``tensorboard``,
``peak_tflops``: MFU only), checkpoint cadence and retention (``save_every_steps``, ``keep_checkpoints``:
resuming from any checkpoint continues exactly), and the memory/speed knobs that split the same global
batch differently (``micro_batch_size``, ``gradient_checkpointing``: the same samples and the same token
mean per step, up to float rounding). The number of processes is not in the plan either.

The caches a run keeps inside its folder (``packed/``, ``tokenized/``, ``data-cache/``, keyed by their own
inputs) and the lock file do not make a folder "not empty": a ``--dry-run`` may have packed the data
before the first run writes its plan.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable

from common.atomic_io import PLAN_FILE, check_plan, plan_state
from common.fingerprints import settings_plan
from common.run_lock import LOCK_NAME

PLAN_DROP = ("output_dir", "tensorboard", "peak_tflops", "save_every_steps", "keep_checkpoints", "micro_batch_size",
             "gradient_checkpointing")
CACHE_FOLDERS = ("packed", "tokenized", "data-cache")
# What a training run writes into its folder: --overwrite empties a folder without _plan.json only when it
# holds some of these (a run of this project made before plans were recorded).
RUN_CONTENT = ("checkpoints", "final", "logs", "tensorboard", "reference_logps.npy")


def run_plan(job: str, settings: Any, drop: Iterable[str] = (), inputs: Dict[str, Any] = None) -> dict:
    """The plan of a run: ``job``, ``settings`` (a dataclass or mapping) without :data:`PLAN_DROP` and
    ``drop``, the identities of the files they name, and the job's ``inputs``."""
    return {"job": job, **settings_plan(settings, drop=PLAN_DROP + tuple(drop)), "inputs": inputs or {}}


def check_run_plan(run_dir: str, plan: dict, overwrite: bool = False, key: str = "output_dir") -> bool:
    """:func:`common.atomic_io.check_plan` for a run folder (the caller holds its lock): True when the run
    starts afresh, False when it may continue what is there; another plan is a ConfigError naming the
    differences, unless ``overwrite`` empties the folder (all but the lock) first."""
    return check_plan(run_dir, plan, overwrite, flag=key, keep=(LOCK_NAME,), ignore=(LOCK_NAME,) + CACHE_FOLDERS,
                      owned=(PLAN_FILE,) + RUN_CONTENT, owner="training run",
                      record=f"({PLAN_FILE}) of the settings and data that made it")


def plan_status(run_dir: str, plan: dict) -> str:
    """What a run would do with ``run_dir`` (for ``--dry-run``, which writes nothing): "new", "resume" (the
    same plan) or "refused" (another plan, or contents without one: a run needs --overwrite)."""
    return plan_state(run_dir, plan, ignore=(LOCK_NAME,) + CACHE_FOLDERS)


__all__ = ["run_plan", "check_run_plan", "plan_status", "PLAN_DROP", "CACHE_FOLDERS"]
