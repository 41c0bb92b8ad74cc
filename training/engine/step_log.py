"""Per-step training log: one console line, one JSON line in ``logs/train.jsonl`` and TensorBoard
scalars, written by rank 0 (torchtitan's metric set plus each data category's share: consumed, in the blend,
intended).

A record holds ``step`` (optimizer steps done), ``loss``, ``lr``, ``grad_norm`` (before clipping),
``tokens_per_s``, ``tflops_per_device``, ``mfu`` (None where the device's peak is unknown),
``memory_gib`` (peak CUDA allocation, or the process's peak RSS on CPU), the job's metrics and fields
(pretraining: ``consumed_samples``, ``consumed_tokens``, and per data category ``mix_consumed/<category>``
(its share of the samples consumed so far), ``mix_blend/<category>`` (its share in the stage's blend file)
and ``mix_intended/<category>`` (its share in the mixture config, Table 2); SFT: ``consumed_rows``, ``epoch``;
DPO: ``consumed_pairs``, ``epoch`` and the implicit rewards). Resumed runs append; a step logged again after a
resume supersedes its earlier record. The console line shows the shares as ``mixture consumed/blend/intended
english=0.913/0.913/0.320``: a blend far from the intended shares is the data's limit, not training's.
"""

from __future__ import annotations

import json
import os
from typing import Dict, Optional


class StepLogger:
    def __init__(self, run_dir: str, enabled: bool, tensorboard: bool) -> None:
        self.enabled = enabled
        self.jsonl = None
        self.writer = None
        if not enabled:
            return
        os.makedirs(os.path.join(run_dir, "logs"), exist_ok=True)
        self.jsonl = open(os.path.join(run_dir, "logs", "train.jsonl"), "a", encoding="utf-8")
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(os.path.join(run_dir, "tensorboard"))

    def event(self, name: str, **fields) -> None:
        """A non-step record (start, resume, checkpoint, stop), to the console and the JSONL."""
        if not self.enabled:
            return
        record = {"event": name, **fields}
        print(" ".join(f"{k}={v}" for k, v in record.items()), flush=True)
        self._write(record)

    def step(self, record: Dict[str, Optional[float]]) -> None:
        if not self.enabled:
            return
        print(console_line(record), flush=True)
        self._write(record)
        if self.writer is not None:
            for key, value in record.items():
                if key != "step" and isinstance(value, (int, float)):
                    self.writer.add_scalar(key, value, record["step"])

    def _write(self, record: dict) -> None:
        self.jsonl.write(json.dumps(record) + "\n")
        self.jsonl.flush()

    def close(self) -> None:
        if self.jsonl is not None:
            self.jsonl.close()
        if self.writer is not None:
            self.writer.close()


def console_line(record: dict) -> str:
    mfu = record.get("mfu")
    shares = " ".join(f"{key[13:]}={record[key]:.3f}/{record.get('mix_blend/' + key[13:], 0):.3f}/"
                      f"{_share(record.get('mix_intended/' + key[13:]))}"
                      for key in sorted(record) if key.startswith("mix_consumed/"))
    known = {"step", "steps", "loss", "lr", "grad_norm", "tokens_per_s", "tflops_per_device", "mfu", "memory_gib"}
    extra = " | ".join(f"{key} {value:.4g}" for key, value in record.items()
                       if key not in known and isinstance(value, float) and "/" not in key)
    return (f"step {record['step']}/{record['steps']} | loss {record['loss']:.4f} | lr {record['lr']:.3e} | "
            f"grad_norm {record['grad_norm']:.3f} | tokens/s {record['tokens_per_s']:,.0f} | "
            f"TFLOP/s/device {record['tflops_per_device']:.2f} | MFU {'n/a' if mfu is None else f'{mfu:.1%}'} | "
            f"memory {record['memory_gib']:.2f} GiB" + (f" | {extra}" if extra else "")
            + (f" | mixture consumed/blend/intended {shares}" if shares else ""))


def _share(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def read_steps(path: str) -> Dict[int, dict]:
    """The last record of every step in a ``train.jsonl`` (what a resumed run's log means)."""
    steps: Dict[int, dict] = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if "step" in record and "event" not in record:
                steps[record["step"]] = record
    return steps


__all__ = ["StepLogger", "console_line", "read_steps"]
