"""Multilingual supervised fine-tuning with neat packing (paper §4.1.2) on DeepSpeed ZeRO-3.

    .venv/bin/python launch/sft.py --dry-run        # configs/post_training/sft-qwen2-7b.yaml, sft/sft.jsonl
    .venv/bin/python launch/sft.py --nproc-per-node 8
    .venv/bin/python launch/sft.py --config configs/post_training/sft-qwen2-7b.yaml data=my-sft/sft.jsonl
    torchrun --nnodes 2 --node-rank $R --nproc-per-node 8 --master-addr $HEAD --master-port 29500 \\
        launch/sft.py --config ...

Without ``--config`` the config is configs/post_training/sft-qwen2-7b.yaml (the paper's: 16,384-token rows,
cosine LR 6e-6 to 6e-7, 2 epochs). Unless the config or an override says otherwise, in the current
directory: the data is sft/sft.jsonl (``.venv/bin/python pipelines/curate_sft.py --input ... --output sft/``), the
model stage 2's export checkpoints/stage-2/final (``.venv/bin/python launch/pretrain.py --stage 2``), the run folder
checkpoints/sft. Relative paths in a config file are relative to that file; in key=value overrides, to
the current directory.

Conversations are rendered with Qwen's ChatML template (loss on assistant tokens only), packed
best-fit-decreasing into ``seq_length``-token rows and cached under ``<output_dir>/packed/`` before any
process starts training. ``--dry-run`` packs (or reads the cache) and prints the config, rows, steps, the
LR schedule's key points and the DeepSpeed config for --nodes x --nproc-per-node processes. Any
``key=value`` overrides the config. A rerun with the same settings and data resumes from the newest
checkpoint; one into a folder made with other settings or data is refused, naming what changed (another
output_dir, or --overwrite to start afresh). The final weights are written to ``<output_dir>/final``
(Hugging Face safetensors). Exit status as launch/pretrain.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

from common.config_check import ConfigError
from training.engine.post_training_command import PostTrainingJob, run_post_training
from training.sft.training_config import DEFAULT_CONFIG, SftTrainConfig, load_sft_train_config


def pack(config: SftTrainConfig, in_worker: bool):
    """(packed rows, the packing's counts): packed once, here, before any worker starts."""
    if in_worker:
        return None
    from training.sft.dataset import PackedSftDataset
    from training.sft.loop import packed_folder

    dataset = PackedSftDataset(packed_folder(config), 0, config.seed)
    if len(dataset) == 0:
        raise ConfigError(f"data: no conversation of {config.data} fits in seq_length {config.seq_length}")
    return len(dataset), {"packing": dataset.meta}


def train(config: SftTrainConfig) -> str:
    from training.sft.loop import train_sft

    return train_sft(config)


JOB = PostTrainingJob(name="fine-tuning", doc=__doc__, config_help="configs/post_training/sft-*.yaml",
                      load_config=load_sft_train_config, prepare=pack, train=train,
                      default_config=DEFAULT_CONFIG)

# torchrun (--nproc-per-node) starts the command file again in every worker.
LAUNCH_SCRIPT = str(Path(__file__).resolve().parents[2] / "launch" / "sft.py")


def main(argv: Optional[List[str]] = None) -> int:
    return run_post_training(JOB, LAUNCH_SCRIPT, argv)

