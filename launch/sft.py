"""Multilingual supervised fine-tuning with neat packing (paper §4.1.2) on DeepSpeed ZeRO-3.

    python launch/sft.py --config configs/post_training/sft-qwen2-7b.yaml --dry-run
    python launch/sft.py --config configs/post_training/sft-qwen2-7b.yaml --nproc-per-node 8
    torchrun --nnodes 2 --node-rank $R --nproc-per-node 8 --master-addr $HEAD --master-port 29500 \\
        launch/sft.py --config ...

The data is ``pipelines/curate_sft.py``'s ``sft.jsonl``. Conversations are rendered with Qwen's ChatML
template (loss on assistant tokens only), packed best-fit-decreasing into ``seq_length``-token rows and
cached under ``<output_dir>/packed/`` before any process starts training. ``--dry-run`` packs (or reads
the cache) and prints the config, rows, steps, the LR schedule's key points and the DeepSpeed config.
Any ``key=value`` overrides the config. A rerun resumes from the newest checkpoint; the final weights
are written to ``<output_dir>/final`` (Hugging Face safetensors). Exit status as launch/pretrain.py.
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
from training.sft_train_config import load_sft_train_config  # noqa: E402
from training.run_lock import RunDirectoryBusy  # noqa: E402
from training.stage_start import latest_checkpoint  # noqa: E402


def main(argv: Optional[List[str]] = None) -> int:
    args, argv = post_training_arguments(__doc__, "configs/post_training/sft-*.yaml", argv)
    try:
        config = load_sft_train_config(args.config, args.overrides)
        config.check_data()
        config.check_model_source()
        world = args.gpus if args.dry_run else world_size(args.nproc_per_node)
        ds_config = zero3_config(config, config.rows_per_step, world, key="rows_per_step")
        if not args.dry_run:
            hold_run_dir(config.output_dir, args.nproc_per_node)
        latest = latest_checkpoint(config.output_dir)
        if not under_launcher():  # pack once, here, before any worker starts
            from training.sft_dataset import PackedSftDataset
            from training.sft_loop import packed_folder

            dataset = PackedSftDataset(packed_folder(config), 0, config.seed)
            if len(dataset) == 0:
                raise ConfigError(f"data: no conversation of {config.data} fits in seq_length {config.seq_length}")
    except (ConfigError, RunDirectoryBusy) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        schedule = config.schedule(len(dataset))
        print(json.dumps({"config": asdict(config), "packing": dataset.meta, "steps": config.steps(len(dataset)),
                          "lr_key_points": {str(k): v for k, v in schedule.key_points().items()},
                          "resume_from": latest, "deepspeed": ds_config}, indent=1))
        return 0
    if not under_launcher() and is_complete(config.output_dir, latest, config.steps(len(dataset))):
        print(f"fine-tuning is complete: the weights are in {config.output_dir}/final")
        return 0
    from training.sft_loop import train_sft

    return start_training(str(Path(__file__).resolve()), args.nproc_per_node, argv, lambda: train_sft(config))


if __name__ == "__main__":
    sys.exit(main())
