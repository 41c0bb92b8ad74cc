"""Preference alignment with DPO (paper §4.2) on DeepSpeed ZeRO-3.

    python launch/dpo.py --config configs/post_training/dpo-qwen2-7b.yaml --dry-run
    python launch/dpo.py --config configs/post_training/dpo-qwen2-7b.yaml --nproc-per-node 8

The data is ``pipelines/build_preferences.py``'s ``preferences.jsonl``; the model is the SFT output. The
reference model is the starting policy: its log-probabilities of every pair are computed once before
the first step and cached in ``<output_dir>/reference_logps.npy`` (training/dpo_loop.py). ``--dry-run``
tokenizes the pairs and prints the config, pairs, steps, the LR schedule's key points and the DeepSpeed
config. Any ``key=value`` overrides the config. A rerun resumes from the newest checkpoint; the final
weights are written to ``<output_dir>/final``. Exit status as launch/pretrain.py.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from launch.processes import (hold_run_dir, is_complete, post_training_arguments, start_training,  # noqa: E402
                              under_launcher, world_size)
from operators.config_check import ConfigError  # noqa: E402
from training.engine_settings import zero3_config  # noqa: E402
from training.dpo_train_config import load_dpo_train_config  # noqa: E402
from training.run_lock import RunDirectoryBusy  # noqa: E402
from training.stage_start import latest_checkpoint  # noqa: E402


def main(argv: Optional[List[str]] = None) -> int:
    args, argv = post_training_arguments(__doc__, "configs/post_training/dpo-*.yaml", argv)
    try:
        config = load_dpo_train_config(args.config, args.overrides)
        config.check_data()
        config.check_model_source()
        world = args.gpus if args.dry_run else world_size(args.nproc_per_node)
        ds_config = zero3_config(config, config.pairs_per_step, world, key="pairs_per_step")
        from training.dpo_loop import dpo_pairs

        _, pairs, skipped = dpo_pairs(config)
        if not pairs:
            raise ConfigError(f"data: no pair of {config.data} fits in max_length {config.max_length}")
        if not args.dry_run:
            hold_run_dir(config.output_dir, args.nproc_per_node)
        latest = latest_checkpoint(config.output_dir)
    except (ConfigError, RunDirectoryBusy) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        schedule = config.schedule(len(pairs))
        print(json.dumps({"config": asdict(config), "pairs": len(pairs), "left_out": skipped,
                          "steps": config.steps(len(pairs)),
                          "lr_key_points": {str(k): v for k, v in schedule.key_points().items()},
                          "resume_from": latest, "deepspeed": ds_config}, indent=1))
        return 0
    # Decided once, before any worker starts, so every rank agrees.
    if not under_launcher() and is_complete(config.output_dir, latest, config.steps(len(pairs))):
        print(f"DPO is complete: the weights are in {config.output_dir}/final")
        return 0
    from training.dpo_loop import train_dpo

    return start_training(str(Path(__file__).resolve()), args.nproc_per_node, argv, lambda: train_dpo(config))


if __name__ == "__main__":
    sys.exit(main())
