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

import json
import os
import shutil
from typing import Any, Dict, Iterable

from common.atomic_io import PLAN_FILE, check_plan, write_json
from common.config_check import ConfigError
from common.fingerprints import settings_plan
from training.engine.run_lock import LOCK_NAME

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


def _contents(run_dir: str) -> list:
    if not os.path.isdir(run_dir):
        return []
    return sorted(n for n in os.listdir(run_dir) if n not in (LOCK_NAME, PLAN_FILE) + CACHE_FOLDERS)


def _empty_keeping_lock(run_dir: str) -> None:
    """Everything in ``run_dir`` removed but the lock file (which this process holds: removing it would let
    a second run lock a new file of the same name)."""
    for name in os.listdir(run_dir):
        if name == LOCK_NAME:
            continue
        path = os.path.join(run_dir, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)


def check_run_plan(run_dir: str, plan: dict, overwrite: bool = False, key: str = "output_dir") -> bool:
    """Compare ``plan`` with the one ``run_dir`` records (the caller holds the folder's lock). Returns True
    when the run starts afresh (plan recorded now), False when it may continue what is there. Another plan is
    a ConfigError naming the differences, unless ``overwrite``: then the folder is emptied first."""
    plan = json.loads(json.dumps(plan, default=str))
    path = os.path.join(run_dir, PLAN_FILE)
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as handle:
            if json.load(handle) == plan:
                return False
        if not overwrite:
            check_plan(run_dir, plan, overwrite=False, flag=key)  # raises, naming what changed
        _empty_keeping_lock(run_dir)
    elif _contents(run_dir):
        if not overwrite:
            raise ConfigError(f"{key} {run_dir} is not empty and holds no record ({PLAN_FILE}) of the settings and "
                              "data that made it; use another output_dir, or pass --overwrite to replace it")
        if not any(os.path.exists(os.path.join(run_dir, name)) for name in RUN_CONTENT):
            raise ConfigError(f"{key} {run_dir}: --overwrite refuses to empty a folder no training run wrote "
                              f"(no {PLAN_FILE}, checkpoints/ or final/ in it); use another output_dir")
        _empty_keeping_lock(run_dir)
    write_json(path, plan)  # a new folder, or one holding only caches (kept: they are keyed by their inputs)
    return True


def plan_status(run_dir: str, plan: dict) -> str:
    """What a run would do with ``run_dir`` (for ``--dry-run``, which writes nothing): "new", "resume" (the
    same plan) or "refused" (another plan, or contents without one: a run needs --overwrite)."""
    plan = json.loads(json.dumps(plan, default=str))
    path = os.path.join(run_dir, PLAN_FILE)
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as handle:
            return "resume" if json.load(handle) == plan else "refused"
    return "refused" if _contents(run_dir) else "new"


__all__ = ["run_plan", "check_run_plan", "plan_status", "PLAN_DROP", "CACHE_FOLDERS"]
