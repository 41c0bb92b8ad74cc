"""Two-stage continual pretraining (paper §3.2, Table 3).

    python launch/pretrain.py --stage 1 --config configs/pretrain/qwen2-7b.yaml --dry-run
    python launch/pretrain.py --stage 2 --config configs/pretrain/qwen2-7b.yaml --backend megatron --nodes 32
    python launch/pretrain.py --stage 1 --config ... stages.1.blend=blends/stage-1.blend.json seq_length=8192

``--dry-run`` checks the config and the stage's blend, then prints the resolved config, the step
count derived from the token budget, the LR schedule's key points and the DeepSpeed ZeRO-3 config.
``--backend megatron`` prints the equivalent Megatron-LM / Pai-Megatron-Patch command line.
Any ``key=value`` after the options overrides the config (dotted keys, YAML values).

Otherwise the stage trains on DeepSpeed ZeRO-3 (training/pretrain_loop.py), one process per GPU:

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
import os
import shlex
import sys
from dataclasses import asdict
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from operators.config_check import ConfigError  # noqa: E402
from training.launch_plan import deepspeed_config, megatron_argv, plan_stage  # noqa: E402
from training.pretrain_config import load_pretrain_config  # noqa: E402
from training.stage_start import export_record, stage_start  # noqa: E402

EXIT_STOPPED = 75  # EX_TEMPFAIL: stopped by SIGTERM with a checkpoint; rerun to resume


def under_launcher() -> bool:
    """torchrun, the deepspeed launcher and Slurm's srun all set these per process."""
    return "LOCAL_RANK" in os.environ and "WORLD_SIZE" in os.environ


def exec_torchrun(nproc: int, argv: List[str]) -> None:
    """Replaces this process with torchrun running this command in ``nproc`` processes, so signals
    sent to this process id (a scheduler's SIGTERM) reach torchrun, which passes them to the workers."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
               str(Path(__file__).resolve()), *argv]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, command)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", type=int, required=True, choices=(1, 2))
    parser.add_argument("--config", help="configs/pretrain/*.yaml")
    parser.add_argument("--dry-run", action="store_true", help="check and print the plan, then exit")
    parser.add_argument("--backend", choices=("deepspeed", "megatron"), default="deepspeed")
    parser.add_argument("--nodes", type=int, default=1)
    parser.add_argument("--gpus-per-node", type=int, default=8, help="for --dry-run and --backend megatron")
    parser.add_argument("--nproc-per-node", type=int, default=1,
                        help="training: start this many processes on this machine under torchrun")
    # The deepspeed launcher passes --local_rank to every process (LOCAL_RANK is in the environment too).
    parser.add_argument("--local_rank", "--local-rank", type=int, help=argparse.SUPPRESS)
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
        if training and under_launcher():
            world = int(os.environ["WORLD_SIZE"])
        elif training:
            world = args.nproc_per_node
        else:
            world = args.nodes * args.gpus_per_node
        ds_config = deepspeed_config(config, world)
        start = stage_start(config, args.stage)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if training:
        if start.kind == "resume" and start.step >= plan.steps and export_record(config.stage_dir(args.stage)):
            print(f"stage {args.stage} is complete: its weights are in {config.stage_dir(args.stage)}/final")
            return 0
        if not under_launcher() and args.nproc_per_node > 1:
            exec_torchrun(args.nproc_per_node, _without_nproc(argv))
        if not under_launcher():  # one process: a world of one
            os.environ.update({"LOCAL_RANK": "0", "RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1",
                               "MASTER_PORT": os.environ.get("MASTER_PORT", "29511")})
        from training.pretrain_loop import train_stage

        return 0 if train_stage(config, plan, start) == "finished" else EXIT_STOPPED
    print(json.dumps({"config": asdict(config), "stage": args.stage, "tokens": plan.tokens, "steps": plan.steps,
                      "warmup_steps": plan.warmup_steps, "start": asdict(start),
                      "lr_key_points": {str(k): v for k, v in plan.schedule.key_points().items()},
                      "deepspeed": ds_config}, indent=1))
    return 0


def _without_nproc(argv: List[str]) -> List[str]:
    out, skip = [], False
    for item in argv:
        if skip:
            skip = False
        elif item == "--nproc-per-node":
            skip = True
        elif not item.startswith("--nproc-per-node="):
            out.append(item)
    return out


if __name__ == "__main__":
    sys.exit(main())
