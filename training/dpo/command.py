"""Preference alignment with DPO (paper §4.2) on DeepSpeed ZeRO-3.

    python launch/dpo.py --config configs/post_training/dpo-qwen2-7b.yaml --dry-run
    python launch/dpo.py --config configs/post_training/dpo-qwen2-7b.yaml --nproc-per-node 8

The data is ``pipelines/build_preferences.py``'s ``preferences.jsonl``; the model is the SFT output. The
reference model is the starting policy: its log-probabilities of every pair are computed once before
the first step and cached in ``<output_dir>/reference_logps.npy`` (training/dpo/loop.py). ``--dry-run``
tokenizes the pairs and prints the config, pairs, steps, the LR schedule's key points and the DeepSpeed
config. Any ``key=value`` overrides the config. A rerun resumes from the newest checkpoint; the final
weights are written to ``<output_dir>/final``. Exit status as launch/pretrain.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

from common.config_check import ConfigError
from training.dpo.training_config import DpoTrainConfig, load_dpo_train_config
from training.engine.post_training_command import PostTrainingJob, run_post_training


def tokenize(config: DpoTrainConfig, in_worker: bool):
    """(pairs, pairs left out by reason): tokenized once into the pairs cache, which every process reads."""
    from training.dpo.loop import dpo_pairs

    _, pairs, skipped = dpo_pairs(config)
    if not pairs:
        raise ConfigError(f"data: no pair of {config.data} fits in max_length {config.max_length}")
    return len(pairs), {"pairs": len(pairs), "left_out": skipped}


def train(config: DpoTrainConfig) -> str:
    from training.dpo.loop import train_dpo

    return train_dpo(config)


JOB = PostTrainingJob(name="DPO", doc=__doc__, config_help="configs/post_training/dpo-*.yaml",
                      load_config=load_dpo_train_config, prepare=tokenize, train=train)

# torchrun (--nproc-per-node) starts the command file again in every worker.
LAUNCH_SCRIPT = str(Path(__file__).resolve().parents[2] / "launch" / "dpo.py")


def main(argv: Optional[List[str]] = None) -> int:
    return run_post_training(JOB, LAUNCH_SCRIPT, argv)

