"""The layout of a training run's folder, shared by every job (a pretraining stage's
``<output_dir>/stage-N``, an SFT or DPO ``output_dir``).

* ``checkpoints/``: the full training state of each checkpoint, one folder per tag; the newest complete
  one is named by ``checkpoints/latest.json`` (tag, step and the job's counters);
* ``final/``: the Hugging Face export written when the run ends, with ``export.json`` written last;
* ``logs/train.jsonl`` and ``tensorboard/`` (``step_log.py``), ``.run.lock`` (``common/run_lock.py``).
"""

from __future__ import annotations

import json
import os
from typing import Optional

from common.config_check import ConfigError

LATEST = "latest.json"
EXPORT_RECORD = "export.json"


def checkpoints_dir(run_dir: str) -> str:
    return os.path.join(run_dir, "checkpoints")


def final_dir(run_dir: str) -> str:
    return os.path.join(run_dir, "final")


def latest_checkpoint(run_dir: str) -> Optional[dict]:
    """``{"tag", "step", ...}`` (the job's counters, e.g. ``consumed_samples``) of the newest complete
    checkpoint, or None."""
    path = os.path.join(checkpoints_dir(run_dir), LATEST)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as handle:
        record = json.load(handle)
    if not os.path.isdir(os.path.join(checkpoints_dir(run_dir), record["tag"])):
        raise ConfigError(f"{path}: names checkpoint {record['tag']}, which is missing")
    return record


def export_record(run_dir: str) -> Optional[dict]:
    """``final/export.json`` of a run that exported its weights, or None."""
    path = os.path.join(final_dir(run_dir), EXPORT_RECORD)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


__all__ = ["latest_checkpoint", "export_record", "checkpoints_dir", "final_dir", "LATEST", "EXPORT_RECORD"]
