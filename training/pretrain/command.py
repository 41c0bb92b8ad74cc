"""Two-stage continual pretraining (paper §3.2, Table 3).

    .venv/bin/python launch/pretrain.py --stage 1 --dry-run          # Marco-7B's config, blends/stage-1.blend.json
    .venv/bin/python launch/pretrain.py --stage 1 --nproc-per-node 8
    .venv/bin/python launch/pretrain.py --stage 2 --nproc-per-node 8
    .venv/bin/python launch/pretrain.py --stage 2 --config configs/pretrain/qwen2-72b.yaml --backend megatron --nodes 64
    .venv/bin/python launch/pretrain.py --stage 1 --config C stages.1.blend=my-blends/stage-1.blend.json seq_length=8192

Without ``--config`` the config is configs/pretrain/qwen2-7b.yaml (Marco-7B: 160B tokens at max LR 1e-5,
then 140B at 6e-6, 32K context, 4M-token steps). A stage's blend is, unless the config or a
``stages.N.blend=`` override names another, blends/stage-N.blend.json in the current directory, where
``.venv/bin/python pipelines/build_mixture.py --stage N --tokens TOKENS`` writes it. Runs go to <output_dir>/stage-N
(output_dir: checkpoints in the current directory unless set); stage 2 starts from stage 1's final weights.
Relative paths in a config file are relative to that file; in key=value overrides, to the current
directory.

``--dry-run`` checks the config and the stage's blend, then prints the resolved config, the step count
derived from the token budget, the LR schedule's key points, where the stage starts, the DeepSpeed ZeRO-3
config for --nodes x --nproc-per-node processes, and how the stage's training tokens compare with the
blend: the category shares intended (the mixture config, Table 2) and realised (the blend), and the
epochs of every group, with a warning past 4. ``--backend megatron`` prints the equivalent Megatron-LM /
Pai-Megatron-Patch command line. Any ``key=value`` after the options overrides the config (dotted keys,
YAML values).

Otherwise the stage trains on DeepSpeed ZeRO-3 (training/pretrain/loop.py), one process per GPU:

    .venv/bin/python launch/pretrain.py --stage 1 --config C --nproc-per-node 8          # starts torchrun itself
    torchrun --nnodes 4 --node-rank $RANK --nproc-per-node 8 --master-addr $HEAD --master-port 29500 \\
        launch/pretrain.py --stage 1 --config C                                # one command per node
    deepspeed --hostfile hostfile launch/pretrain.py --stage 1 --config C      # the DeepSpeed launcher

Rerunning a stopped or killed stage with the same settings and data resumes it from its newest
checkpoint. A rerun into a stage folder made with other settings or data (another LR, blend, token
shards, model, or stage 1 weights for stage 2) is refused with one message naming what changed: use
another output_dir, or pass --overwrite to empty the folder and start the stage afresh. Exit status: 0
when the stage finished (weights exported to <output_dir>/stage-N/final); 2 for a bad config, missing
data or a refused folder, before anything is built; otherwise the stage is unfinished: a process stopped
by SIGTERM saves a checkpoint at the end of its step and exits 75 (torchrun then reports the group as
failed), and rerunning continues.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import asdict
from pathlib import Path
from typing import List, Optional

from common.config_check import ConfigError
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
from training.engine.run_plan import plan_status
from training.pretrain.stage_plan import data_use, deepspeed_config, megatron_argv, plan_stage, stage_run_plan
from training.pretrain.stage_start import stage_start
from training.pretrain.training_config import DEFAULT_CONFIG, load_pretrain_config

# torchrun (--nproc-per-node) starts the command file again in every worker.
LAUNCH_SCRIPT = str(Path(__file__).resolve().parents[2] / "launch" / "pretrain.py")


def parse_arguments(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", type=int, required=True, choices=(1, 2))
    parser.add_argument("--config", help=f"configs/pretrain/*.yaml (default: {DEFAULT_CONFIG.name}, Marco-7B's)")
    parser.add_argument("--dry-run", action="store_true", help="check and print the plan, then exit")
    parser.add_argument("--backend", choices=("deepspeed", "megatron"), default="deepspeed")
    add_process_arguments(parser)
    parser.add_argument("overrides", nargs="*", help="key=value settings")
    return parser.parse_intermixed_args(argv)  # key=value overrides before or after options


def warn(messages: List[str]) -> None:
    for message in messages:
        print(f"warning: {message}", file=sys.stderr)


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_arguments(argv)
    training = not args.dry_run and args.backend == "deepspeed"
    try:
        config = load_pretrain_config(args.config, args.overrides)
        plan = plan_stage(config, args.stage)
        world = planned_world_size(args, training)
        if args.backend == "megatron":
            print(shlex.join(megatron_argv(config, plan, args.nodes, args.nproc_per_node)))
            return 0
        ds_config = deepspeed_config(config, world)
        stage_dir = config.stage_dir(args.stage)
        start = stage_start(config, args.stage, required=training)
        use = data_use(config, plan)
        if training:  # checked; now lock the stage's folder, compare its plan, and read where to start, under the lock
            guard_run_dir(stage_dir, args.nproc_per_node, stage_run_plan(config, plan), args.overwrite)
            start = stage_start(config, args.stage)
    except (ConfigError, RunDirectoryBusy) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if training:
        # Decided once, before any worker starts, so every rank agrees.
        if not under_launcher():
            warn(use["warnings"])
            if is_complete(stage_dir, latest_checkpoint(stage_dir), plan.steps):
                print(f"stage {args.stage} is complete: its weights are in {stage_dir}/final")
                return 0
        from training.pretrain.loop import train_stage

        return start_training(LAUNCH_SCRIPT, args.nproc_per_node, argv,
                              lambda: train_stage(config, plan, start))
    warnings = use["warnings"] + ([start.missing] if start.missing else [])
    folder = plan_status(stage_dir, stage_run_plan(config, plan))
    if folder == "refused":
        warnings.append(f"{stage_dir} holds a run made with other settings or data: a run refuses it without "
                        "--overwrite")
    warn(warnings)
    print(json.dumps({"config": asdict(config), "stage": args.stage, "tokens": plan.tokens, "steps": plan.steps,
                      "warmup_steps": plan.warmup_steps, "world_size": world, "start": asdict(start),
                      "run_folder": {"path": stage_dir, "status": folder},
                      "lr_key_points": {str(k): v for k, v in plan.schedule.key_points().items()},
                      "data": use, "deepspeed": ds_config}, indent=1))
    return 0
