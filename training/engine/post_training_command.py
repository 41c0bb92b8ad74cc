"""The command line SFT and DPO share (``launch/sft.py``, ``launch/dpo.py``); each says only what differs
in a :class:`PostTrainingJob`.

``--config`` (default: the job's Marco-7B config) and ``key=value`` overrides give the job's training
config; its data file and model source are checked (for ``--dry-run`` a model not there yet is a warning),
the run folder is locked and its plan compared (``training/engine/run_plan.py``; rank 0, not for
``--dry-run``), and the job prepares its data once, before any worker starts (``prepare``: SFT packs its
conversations, DPO tokenizes its pairs). Then: ``--dry-run`` prints the config, the prepared data, steps,
the LR schedule's key points, the checkpoint a run would resume and the DeepSpeed config for ``--nodes`` x
``--nproc-per-node`` processes; a run whose last step is checkpointed and exported says so; otherwise
training starts (torchrun first with ``--nproc-per-node``). Exit status: 2 for a bad config, missing data or
model, a busy or refused run folder, else as ``training/engine/processes.start_training``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, List, Optional, Tuple

from common.config_check import ConfigError
from training.engine.post_training_settings import PostTrainingSettings
from training.engine.processes import (
    add_process_arguments,
    guard_run_dir,
    is_complete,
    planned_world_size,
    start_training,
    under_launcher,
)
from training.engine.run_layout import latest_checkpoint
from common.run_lock import RunDirectoryBusy
from training.engine.run_plan import plan_status, run_plan
from training.engine.settings import zero3_config


@dataclass(frozen=True)
class PostTrainingJob:
    name: str                 # in "<name> is complete: ..."
    doc: str                  # the launcher's --help text (its module docstring)
    config_help: str          # where its configs are
    load_config: Callable[[Optional[str], List[str]], PostTrainingSettings]
    # (config, in_worker) -> (items the steps are counted in, fields of the --dry-run plan, "warnings" among
    # them, printed by the launcher); None where a worker of a launcher leaves the data to the training loop.
    # ConfigError for unusable data.
    prepare: Callable[[PostTrainingSettings, bool], Optional[Tuple[int, dict]]]
    train: Callable[[PostTrainingSettings], str]  # every rank; "finished" or "stopped"
    default_config: str = ""  # the config without --config (Marco-7B's)


def post_training_arguments(doc: str, config_help: str, argv: Optional[List[str]]):
    """(parsed arguments, argv as a list) of a post-training launcher."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help=config_help)
    parser.add_argument("--dry-run", action="store_true", help="check and print the plan, then exit")
    add_process_arguments(parser)
    parser.add_argument("overrides", nargs="*", help="key=value settings")
    argv = list(sys.argv[1:] if argv is None else argv)
    return parser.parse_intermixed_args(argv), argv  # key=value overrides before or after options


def load_job_config(job: PostTrainingJob, path: Optional[str], overrides: List[str]) -> PostTrainingSettings:
    if path is None:
        if not os.path.isfile(job.default_config):
            raise ConfigError(f"--config: not given, and the default {job.default_config} is not here (an installed "
                              f"package ships no configs): pass --config {job.config_help}")
        path = job.default_config
    return job.load_config(path, overrides)


def job_plan(job: PostTrainingJob, config: PostTrainingSettings) -> dict:
    """What the run folder is made from: the settings (with the identities of the model folder, the data file
    and a tokenizer they name)."""
    return run_plan(job.name, config)


def run_post_training(job: PostTrainingJob, script: str, argv: Optional[List[str]] = None) -> int:
    """``script``'s main: the launcher file torchrun re-runs with ``--nproc-per-node``."""
    args, argv = post_training_arguments(job.doc, job.config_help, argv)
    training = not args.dry_run
    warnings: List[str] = []
    try:
        config = load_job_config(job, args.config, args.overrides)
        config.check_data()
        missing_model = config.check_model_source(required=training)
        if missing_model:
            warnings.append(missing_model)
        world = planned_world_size(args, training)
        ds_config = zero3_config(config, config.items_per_step, world, key=config.per_step_key,
                                 unit=config.per_step_key.split("_")[0])
        if training:
            guard_run_dir(config.output_dir, args.nproc_per_node, job_plan(job, config), args.overwrite)
        latest = latest_checkpoint(config.output_dir)
        prepared = job.prepare(config, under_launcher() and training)
    except (ConfigError, RunDirectoryBusy) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if prepared is not None:
        warnings += prepared[1].get("warnings", [])
    if args.dry_run:
        items, fields = prepared
        schedule = config.schedule(items)
        folder = plan_status(config.output_dir, job_plan(job, config))
        if folder == "refused":
            warnings.append(f"{config.output_dir} holds a run made with other settings or data: a run refuses it "
                            "without --overwrite")
        for message in warnings:
            print(f"warning: {message}", file=sys.stderr)
        print(json.dumps({"config": asdict(config), **fields, "steps": config.steps(items), "world_size": world,
                          "lr_key_points": {str(k): v for k, v in schedule.key_points().items()},
                          "run_folder": {"path": config.output_dir, "status": folder},
                          "resume_from": latest, "deepspeed": ds_config}, indent=1))
        return 0
    # Decided once, before any worker starts, so every rank agrees.
    if not under_launcher():
        for message in warnings:
            print(f"warning: {message}", file=sys.stderr)
    if not under_launcher() and is_complete(config.output_dir, latest, config.steps(prepared[0])):
        print(f"{job.name} is complete: the weights are in {config.output_dir}/final")
        return 0
    return start_training(str(Path(script).resolve()), args.nproc_per_node, argv, lambda: job.train(config))


__all__ = ["PostTrainingJob", "run_post_training", "post_training_arguments", "load_job_config", "job_plan"]
