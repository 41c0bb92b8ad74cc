"""The learning-rate schedule every job uses: linear warm-up from 0 to the maximum, then cosine decay to
``min_ratio`` of the maximum at the last step. A pretraining stage (paper §3.2) warms up over its first
``warmup_tokens`` (10B) and decays to 10 % at the end of its token budget; its steps come from tokens:
one step consumes one global batch of ``global_batch_tokens`` (Pai-Megatron-Patch: TRAIN_ITERS =
TRAIN_TOKENS / GBS / SEQ_LEN). SFT and DPO count steps from their data (``post_training_settings.py``)."""

from __future__ import annotations

import math
from dataclasses import dataclass


def steps_for_tokens(tokens: float, global_batch_tokens: int) -> int:
    return max(1, math.ceil(tokens / global_batch_tokens))


@dataclass(frozen=True)
class LrSchedule:
    max_lr: float
    warmup_steps: int
    total_steps: int
    min_ratio: float = 0.1

    def __call__(self, step: int) -> float:
        if self.warmup_steps and step < self.warmup_steps:
            return self.max_lr * step / self.warmup_steps
        if step >= self.total_steps:
            return self.max_lr * self.min_ratio
        span = max(1, self.total_steps - self.warmup_steps)
        progress = (step - self.warmup_steps) / span
        low = self.max_lr * self.min_ratio
        return low + (self.max_lr - low) * 0.5 * (1.0 + math.cos(math.pi * progress))

    def key_points(self) -> dict:
        middle = self.warmup_steps + (self.total_steps - self.warmup_steps) // 2
        return {step: self(step) for step in (0, self.warmup_steps, middle, self.total_steps)}
