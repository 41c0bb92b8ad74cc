"""Where a pretraining stage starts (paper §3.2: Stage II continues from Stage I's model).

A stage's folder ``<output_dir>/stage-N`` is a run folder (``training/engine/run_layout.py``). The rule is
torchtitan's and Megatron's ``--pretrained-checkpoint`` rule:

* the stage's own checkpoint exists → **resume** it exactly (model, optimizer, step, consumed samples,
  RNG), so a preempted job is simply relaunched with the same command;
* otherwise stage 1 starts from ``model`` (a checkpoint, or random weights with ``random_init``) and
  stage N > 1 from stage N-1's **final weights**, with a fresh optimizer, a fresh LR schedule and
  consumed samples = 0. Stage N-1 without final weights is an error before anything is built (for
  ``--dry-run``, which may plan stage 2 while stage 1 still trains, a warning in the plan).
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
    missing: Optional[str] = None  # --dry-run: why a run could not start from ``source`` yet


def stage_start(config: PretrainConfig, stage: int, required: bool = True) -> StageStart:
    """Where ``stage`` starts; with ``required=False`` (``--dry-run``) a missing source is reported in
    ``missing`` instead of raised (a model folder without config.json is an error either way)."""
    stage_dir = config.stage_dir(stage)
    latest = latest_checkpoint(stage_dir)
    if stage == 1:  # a resumed stage 1 builds its architecture from the model's config.json too
        missing = config.check_model_source(required)
    if latest is not None:
        return StageStart("resume", checkpoints_dir(stage_dir), latest["tag"], latest["step"],
                          latest.get("consumed_samples", 0), missing if stage == 1 else None)
    if stage == 1:
        return StageStart("model", config.model, missing=missing)
    previous = config.stage_dir(stage - 1)
    if export_record(previous) is None:
        message = (f"--stage {stage}: starts from stage {stage - 1}'s final weights, but {final_dir(previous)} "
                   f"holds none; run `.venv/bin/python launch/pretrain.py --stage {stage - 1}` (same config) to its "
                   "end first")
        if required:
            raise ConfigError(message)
        return StageStart("previous_stage", final_dir(previous), missing=message)
    return StageStart("previous_stage", final_dir(previous))


__all__ = ["StageStart", "stage_start"]
