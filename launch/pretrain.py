"""Two-stage continual pretraining (paper §3.2, Table 3).

    python launch/pretrain.py --stage 1 --config configs/pretrain/qwen2-7b.yaml --dry-run
    python launch/pretrain.py --stage 2 --config configs/pretrain/qwen2-7b.yaml --backend megatron --nodes 32
    python launch/pretrain.py --stage 1 --config ... stages.1.blend=blends/stage-1.blend.json seq_length=8192

``--dry-run`` checks the config and the stage's blend, then prints the resolved config, the step
count derived from the token budget, the LR schedule's key points and the DeepSpeed ZeRO-3 config.
``--backend megatron`` prints the equivalent Megatron-LM / Pai-Megatron-Patch command line.
Any ``key=value`` after the options overrides the config (dotted keys, YAML values).
The DeepSpeed training loop itself is not part of this version: without ``--dry-run`` or
``--backend megatron`` the command says so and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
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


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", type=int, required=True, choices=(1, 2))
    parser.add_argument("--config", help="configs/pretrain/*.yaml")
    parser.add_argument("--dry-run", action="store_true", help="check and print the plan, then exit")
    parser.add_argument("--backend", choices=("deepspeed", "megatron"), default="deepspeed")
    parser.add_argument("--nodes", type=int, default=1)
    parser.add_argument("--gpus-per-node", type=int, default=8)
    parser.add_argument("overrides", nargs="*", help="key=value settings")
    args = parser.parse_args(argv)
    try:
        config = load_pretrain_config(args.config, args.overrides)
        plan = plan_stage(config, args.stage)
        world = args.nodes * args.gpus_per_node
        if args.backend == "megatron":
            print(shlex.join(megatron_argv(config, plan, args.nodes, args.gpus_per_node)))
            return 0
        ds_config = deepspeed_config(config, world)
        if not args.dry_run:
            raise ConfigError("training with the DeepSpeed backend is not available in this version; "
                              "use --dry-run, or --backend megatron for a Megatron-LM command")
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"config": asdict(config), "stage": args.stage, "tokens": plan.tokens, "steps": plan.steps,
                      "warmup_steps": plan.warmup_steps,
                      "lr_key_points": {str(k): v for k, v in plan.schedule.key_points().items()},
                      "deepspeed": ds_config}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
