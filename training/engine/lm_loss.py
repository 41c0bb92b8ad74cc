"""Next-token cross-entropy over a long context without an fp32 copy of all the logits.

At 32K tokens and Qwen2's 151,936-entry vocabulary the logits of one sequence are 10 GB in bf16 and
20 GB in fp32 (training_anchors.md §5.2); upcasting them whole, as ``F.cross_entropy(logits.float())``
does, and keeping the fp32 softmax for the backward pass needs another 40 GB. Here the positions are
taken in chunks, each upcast, scored and recomputed in the backward pass (activation checkpointing), so
only one chunk's fp32 values exist at a time. The result equals the plain loss: the mean over the
positions whose label is not -100 (SFT masks prompts and padding that way; pretraining masks nothing).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

DEFAULT_CHUNK = 4096


IGNORE_INDEX = -100


def _chunk_loss_sum(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1), reduction="sum",
                           ignore_index=IGNORE_INDEX)


def next_token_loss(logits: torch.Tensor, labels: torch.Tensor, chunk: int = DEFAULT_CHUNK,
                    denominator: Optional[float] = None) -> torch.Tensor:
    """Mean cross-entropy of ``logits`` [batch, positions, vocab] against ``labels`` [batch, positions]
    over the labelled positions (0 when there are none); or their sum divided by ``denominator`` when
    given (a micro-batch's share of a mean over a whole optimizer step)."""
    positions = logits.shape[1]
    count = (labels != IGNORE_INDEX).sum().clamp(min=1) if denominator is None else denominator
    if positions <= chunk:
        return _chunk_loss_sum(logits, labels) / count
    total = logits.new_zeros((), dtype=torch.float32)
    for start in range(0, positions, chunk):
        piece, targets = logits[:, start:start + chunk], labels[:, start:start + chunk]
        if logits.requires_grad:
            total = total + checkpoint(_chunk_loss_sum, piece, targets, use_reentrant=False)
        else:
            total = total + _chunk_loss_sum(piece, targets)
    return total / count


__all__ = ["next_token_loss", "DEFAULT_CHUNK", "IGNORE_INDEX"]
