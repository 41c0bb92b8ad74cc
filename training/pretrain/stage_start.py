"""Where a pretraining stage starts (paper §3.2: Stage II continues from Stage I's model).

A stage's folder ``<output_dir>/stage-N`` is a run folder (``training/engine/run_layout.py``). The rule is
torchtitan's and Megatron's ``--pretrained-checkpoint`` rule:

* the stage's own checkpoint exists → **resume** it exactly (model, optimizer, step, consumed samples,
  RNG), so a preempted job is simply relaunched with the same command;
* otherwise stage 1 starts from ``model`` (a checkpoint, or random weights with ``random_init``) and
  stage N > 1 from stage N-1's **final weights**, with a fresh optimizer, a fresh LR schedule and
  consumed samples = 0. Stage N-1 without final weights is an error before anything is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from common.config_check import ConfigError
from training.engine.run_layout import checkpoints_dir, export_record, final_dir, latest_checkpoint
from training.pretrain.training_config import PretrainConfig


@dataclass(frozen=True)
class StageStart:
    kind: str                  # "resume", "previous_stage" or "model"
    source: str                # checkpoint folder, previous stage's final folder, or model path / id
    tag: Optional[str] = None  # the checkpoint tag when resuming
    step: int = 0
    consumed_samples: int = 0


def stage_start(config: PretrainConfig, stage: int) -> StageStart:
    stage_dir = config.stage_dir(stage)
    latest = latest_checkpoint(stage_dir)
    if latest is not None:
        return StageStart("resume", checkpoints_dir(stage_dir), latest["tag"], latest["step"],
                          latest.get("consumed_samples", 0))
    if stage == 1:
        config.check_model_source()
        return StageStart("model", config.model)
    previous = config.stage_dir(stage - 1)
    if export_record(previous) is None:
        raise ConfigError(f"--stage {stage}: starts from stage {stage - 1}'s final weights, but "
                          f"{final_dir(previous)} holds none; run --stage {stage - 1} to its end first")
    return StageStart("previous_stage", final_dir(previous))


__all__ = ["StageStart", "stage_start"]
