"""Preference alignment with DPO (paper §4.2) on DeepSpeed ZeRO-3.

    .venv/bin/python launch/dpo.py --dry-run        # configs/post_training/dpo-qwen2-7b.yaml, prefs/preferences.jsonl
    .venv/bin/python launch/dpo.py --nproc-per-node 8
    .venv/bin/python launch/dpo.py --config configs/post_training/dpo-qwen2-7b.yaml data=my-prefs/preferences.jsonl

Without ``--config`` the config is configs/post_training/dpo-qwen2-7b.yaml (sigmoid DPO, beta 0.1). Unless
the config or an override says otherwise, in the current directory: the data is prefs/preferences.jsonl
(``.venv/bin/python pipelines/build_preferences.py --input ... --output prefs/``), the model SFT's export
checkpoints/sft/final (``.venv/bin/python launch/sft.py``), the run folder checkpoints/dpo. Relative paths in a
config file are relative to that file; in key=value overrides, to the current directory.

The reference model is the starting policy: its log-probabilities of every pair are computed once before
the first step and cached in ``<output_dir>/reference_logps.npy`` (training/dpo/loop.py). ``--dry-run``
tokenizes the pairs and prints the config, pairs, steps, the LR schedule's key points and the DeepSpeed
config for --nodes x --nproc-per-node processes. Any ``key=value`` overrides the config. A rerun with the
same settings and data resumes from the newest checkpoint; one into a folder made with other settings or
data is refused, naming what changed (another output_dir, or --overwrite to start afresh). The final
weights are written to ``<output_dir>/final``. Exit status as launch/pretrain.py.

Each step's logged loss, margin and accuracy are those of that step's pairs before its update: in the first
epoch, pairs the policy has not been trained on yet (a held-out measure); from the second epoch on, pairs it
has seen.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

from common.config_check import ConfigError
from training.dpo.training_config import DEFAULT_CONFIG, DpoTrainConfig, load_dpo_train_config
from training.engine.post_training_command import PostTrainingJob, run_post_training


def shared_answers(pairs) -> int:
    """How many pairs' rejected answer is another pair's chosen answer (the same response tokens)."""
    def answer(side):
        return tuple(t for t in side.labels if t >= 0)  # the labelled (response) tokens; -100 elsewhere

    chosen = {answer(c) for c, _ in pairs}
    return sum(answer(r) in chosen for _, r in pairs)


def tokenize(config: DpoTrainConfig, in_worker: bool):
    """(pairs, pairs left out by reason): tokenized once into the pairs cache, which every process reads."""
    from training.dpo.loop import dpo_pairs

    _, pairs, skipped = dpo_pairs(config)
    if not pairs:
        raise ConfigError(f"data: no pair of {config.data} fits in max_length {config.max_length}")
    fields = {"pairs": len(pairs), "left_out": skipped, "warnings": []}
    shared = shared_answers(pairs)
    if shared > 0.1 * len(pairs):
        fields["warnings"].append(
            f"data: in {shared} of {len(pairs)} pairs the rejected answer is another pair's chosen answer: DPO pushes "
            "that answer down in one pair and up in the other, so the pairs undo each other until the policy ties "
            "answers to their prompts (the first epoch's loss, on pairs not yet trained on, may rise above log 2)")
    return len(pairs), fields


def train(config: DpoTrainConfig) -> str:
    from training.dpo.loop import train_dpo

    return train_dpo(config)


JOB = PostTrainingJob(name="DPO", doc=__doc__, config_help="configs/post_training/dpo-*.yaml",
                      load_config=load_dpo_train_config, prepare=tokenize, train=train,
                      default_config=DEFAULT_CONFIG)

# torchrun (--nproc-per-node) starts the command file again in every worker.
LAUNCH_SCRIPT = str(Path(__file__).resolve().parents[2] / "launch" / "dpo.py")


def main(argv: Optional[List[str]] = None) -> int:
    return run_post_training(JOB, LAUNCH_SCRIPT, argv)

