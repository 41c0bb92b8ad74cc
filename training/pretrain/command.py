"""Two-stage continual pretraining (paper §3.2, Table 3).

    python launch/pretrain.py --stage 1 --config configs/pretrain/qwen2-7b.yaml --dry-run
    python launch/pretrain.py --stage 2 --config configs/pretrain/qwen2-7b.yaml --backend megatron --nodes 32
    python launch/pretrain.py --stage 1 --config ... stages.1.blend=blends/stage-1.blend.json seq_length=8192

``--dry-run`` checks the config and the stage's blend, then prints the resolved config, the step
count derived from the token budget, the LR schedule's key points and the DeepSpeed ZeRO-3 config.
``--backend megatron`` prints the equivalent Megatron-LM / Pai-Megatron-Patch command line.
Any ``key=value`` after the options overrides the config (dotted keys, YAML values).

Otherwise the stage trains on DeepSpeed ZeRO-3 (training/pretrain/loop.py), one process per GPU:

    python launch/pretrain.py --stage 1 --config C --nproc-per-node 8          # starts torchrun itself
    torchrun --nnodes 4 --node-rank $RANK --nproc-per-node 8 --master-addr $HEAD --master-port 29500 \
        launch/pretrain.py --stage 1 --config C                                # one command per node
    deepspeed --hostfile hostfile launch/pretrain.py --stage 1 --config C      # the DeepSpeed launcher

Rerunning a stopped or killed stage resumes it from its newest checkpoint. Exit status: 0 when the
stage finished (weights exported to <output_dir>/stage-N/final); 2 for a bad config, before anything
is built; otherwise the stage is unfinished: a process stopped by SIGTERM saves a checkpoint at the
end of its step and exits 75 (torchrun then reports the group as failed), and rerunning continues.
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
    hold_run_dir,
    is_complete,
    start_training,
    under_launcher,
    world_size,
)
from training.engine.run_layout import latest_checkpoint
from training.engine.run_lock import RunDirectoryBusy
from training.pretrain.stage_plan import deepspeed_config, megatron_argv, plan_stage
from training.pretrain.stage_start import stage_start
from training.pretrain.training_config import load_pretrain_config

# torchrun (--nproc-per-node) starts the command file again in every worker.
LAUNCH_SCRIPT = str(Path(__file__).resolve().parents[2] / "launch" / "pretrain.py")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", type=int, required=True, choices=(1, 2))
    parser.add_argument("--config", help="configs/pretrain/*.yaml")
    parser.add_argument("--dry-run", action="store_true", help="check and print the plan, then exit")
    parser.add_argument("--backend", choices=("deepspeed", "megatron"), default="deepspeed")
    parser.add_argument("--nodes", type=int, default=1)
    parser.add_argument("--gpus-per-node", type=int, default=8, help="for --dry-run and --backend megatron")
    add_process_arguments(parser)
    parser.add_argument("overrides", nargs="*", help="key=value settings")
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    training = not args.dry_run and args.backend == "deepspeed"
    try:
        config = load_pretrain_config(args.config, args.overrides)
        plan = plan_stage(config, args.stage)
        if args.backend == "megatron":
            print(shlex.join(megatron_argv(config, plan, args.nodes, args.gpus_per_node)))
            return 0
        world = world_size(args.nproc_per_node) if training else args.nodes * args.gpus_per_node
        ds_config = deepspeed_config(config, world)
        start = stage_start(config, args.stage)
        stage_dir = config.stage_dir(args.stage)
        if training:  # checked, so now lock the stage's folder and read where to start again, under the lock
            hold_run_dir(stage_dir, args.nproc_per_node)
            start = stage_start(config, args.stage)
    except (ConfigError, RunDirectoryBusy) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if training:
        # Decided once, before any worker starts, so every rank agrees.
        if not under_launcher() and is_complete(stage_dir, latest_checkpoint(stage_dir), plan.steps):
            print(f"stage {args.stage} is complete: its weights are in {stage_dir}/final")
            return 0
        from training.pretrain.loop import train_stage

        return start_training(LAUNCH_SCRIPT, args.nproc_per_node, argv,
                              lambda: train_stage(config, plan, start))
    print(json.dumps({"config": asdict(config), "stage": args.stage, "tokens": plan.tokens, "steps": plan.steps,
                      "warmup_steps": plan.warmup_steps, "start": asdict(start),
                      "lr_key_points": {str(k): v for k, v in plan.schedule.key_points().items()},
                      "deepspeed": ds_config}, indent=1))
    return 0

