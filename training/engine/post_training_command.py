"""The command line SFT and DPO share (``launch/sft.py``, ``launch/dpo.py``); each says only what differs
in a :class:`PostTrainingJob`.

``--config`` and ``key=value`` overrides give the job's training config; its data file and model source
are checked, the run folder is locked (rank 0, not for ``--dry-run``), and the job prepares its data once,
before any worker starts (``prepare``: SFT packs its conversations, DPO tokenizes its pairs). Then:
``--dry-run`` prints the config, the prepared data, steps, the LR schedule's key points, the checkpoint a
run would resume and the DeepSpeed config for ``--gpus`` processes; a run whose last step is checkpointed
and exported says so; otherwise training starts (torchrun first with ``--nproc-per-node``). Exit status:
2 for a bad config or a busy run folder, else as ``training/engine/processes.start_training``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, List, Optional, Tuple

from common.config_check import ConfigError
from training.engine.post_training_settings import PostTrainingSettings
from training.engine.processes import (
    add_process_arguments,
    hold_run_dir,
    is_complete,
    start_training,
    under_launcher,
    world_size,
)
from training.engine.run_layout import latest_checkpoint
from training.engine.run_lock import RunDirectoryBusy
from training.engine.settings import zero3_config


@dataclass(frozen=True)
class PostTrainingJob:
    name: str                 # in "<name> is complete: ..."
    doc: str                  # the launcher's --help text (its module docstring)
    config_help: str          # where its configs are
    load_config: Callable[[Optional[str], List[str]], PostTrainingSettings]
    # (config, in_worker) -> (items the steps are counted in, fields of the --dry-run plan); None where a
    # worker of a launcher leaves the data to the training loop. ConfigError for unusable data.
    prepare: Callable[[PostTrainingSettings, bool], Optional[Tuple[int, dict]]]
    train: Callable[[PostTrainingSettings], str]  # every rank; "finished" or "stopped"


def post_training_arguments(doc: str, config_help: str, argv: Optional[List[str]]):
    """(parsed arguments, argv as a list) of a post-training launcher."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help=config_help)
    parser.add_argument("--dry-run", action="store_true", help="check and print the plan, then exit")
    parser.add_argument("--gpus", type=int, default=8, help="for --dry-run: the world size to plan for")
    add_process_arguments(parser)
    parser.add_argument("overrides", nargs="*", help="key=value settings")
    argv = list(sys.argv[1:] if argv is None else argv)
    return parser.parse_args(argv), argv


def run_post_training(job: PostTrainingJob, script: str, argv: Optional[List[str]] = None) -> int:
    """``script``'s main: the launcher file torchrun re-runs with ``--nproc-per-node``."""
    args, argv = post_training_arguments(job.doc, job.config_help, argv)
    try:
        config = job.load_config(args.config, args.overrides)
        config.check_data()
        config.check_model_source()
        world = args.gpus if args.dry_run else world_size(args.nproc_per_node)
        ds_config = zero3_config(config, config.items_per_step, world, key=config.per_step_key)
        if not args.dry_run:
            hold_run_dir(config.output_dir, args.nproc_per_node)
        latest = latest_checkpoint(config.output_dir)
        prepared = job.prepare(config, under_launcher() and not args.dry_run)
    except (ConfigError, RunDirectoryBusy) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        items, fields = prepared
        schedule = config.schedule(items)
        print(json.dumps({"config": asdict(config), **fields, "steps": config.steps(items),
                          "lr_key_points": {str(k): v for k, v in schedule.key_points().items()},
                          "resume_from": latest, "deepspeed": ds_config}, indent=1))
        return 0
    # Decided once, before any worker starts, so every rank agrees.
    if not under_launcher() and is_complete(config.output_dir, latest, config.steps(prepared[0])):
        print(f"{job.name} is complete: the weights are in {config.output_dir}/final")
        return 0
    return start_training(str(Path(script).resolve()), args.nproc_per_node, argv, lambda: job.train(config))


__all__ = ["PostTrainingJob", "run_post_training", "post_training_arguments"]
