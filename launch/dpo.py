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

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from launch.processes import (EXIT_STOPPED, add_process_arguments, become_world_of_one, exec_torchrun,  # noqa: E402
                              under_launcher, world_size)
from operators.config_check import ConfigError  # noqa: E402
from training.engine_settings import zero3_config  # noqa: E402
from training.dpo_train_config import load_dpo_train_config  # noqa: E402
from training.stage_start import export_record, latest_checkpoint  # noqa: E402


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="configs/post_training/dpo-*.yaml")
    parser.add_argument("--dry-run", action="store_true", help="check and print the plan, then exit")
    parser.add_argument("--gpus", type=int, default=8, help="for --dry-run: the world size to plan for")
    add_process_arguments(parser)
    parser.add_argument("overrides", nargs="*", help="key=value settings")
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    try:
        config = load_dpo_train_config(args.config, args.overrides)
        config.check_data()
        config.check_model_source()
        world = args.gpus if args.dry_run else world_size(args.nproc_per_node)
        ds_config = zero3_config(config, config.pairs_per_step, world, key="pairs_per_step")
        latest = latest_checkpoint(config.output_dir)
        from operators.tokenizer import load_tokenizer
        from training.chat_template import ChatML
        from training.dpo_loop import tokenize_pairs
        from training.sft_loop import tokenizer_spec

        pairs, skipped = tokenize_pairs(config.data, ChatML(load_tokenizer(tokenizer_spec(config)),
                                                            config.system_prompt), config.max_length)
        if not pairs:
            raise ConfigError(f"data: no pair of {config.data} fits in max_length {config.max_length}")
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        schedule = config.schedule(len(pairs))
        print(json.dumps({"config": asdict(config), "pairs": len(pairs), "left_out": skipped,
                          "steps": config.steps(len(pairs)),
                          "lr_key_points": {str(k): v for k, v in schedule.key_points().items()},
                          "resume_from": latest, "deepspeed": ds_config}, indent=1))
        return 0
    if latest is not None and export_record(config.output_dir) and latest["step"] >= config.steps(len(pairs)):
        print(f"DPO is complete: the weights are in {config.output_dir}/final")
        return 0
    if not under_launcher() and args.nproc_per_node > 1:
        exec_torchrun(str(Path(__file__).resolve()), args.nproc_per_node, argv)
    if not under_launcher():
        become_world_of_one()
    from training.dpo_loop import train_dpo

    return 0 if train_dpo(config) == "finished" else EXIT_STOPPED


if __name__ == "__main__":
    sys.exit(main())
