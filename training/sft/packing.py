"""Neat packing for SFT (paper §4.1.2; LLaMA-Factory's ``neat_packing``): whole examples packed into
rows of ``capacity`` tokens without attending across examples.

* **Best-fit decreasing**: examples in order of decreasing length (ties by input order), each into the
  open row with the least room that still fits it, or a new row. Examples longer than the capacity are
  not packed; the caller counts them (a drop reason), never truncates silently.
* **Rows**: ``input_ids``, ``labels`` (-100 outside the assistant tokens and on padding),
  ``position_ids`` restarting at 0 for every example (TRL's padding-free collator, LLaMA-Factory after
  PR #7318), and ``segment_ids`` 1..k per example, 0 for padding.
* **Attention**: :func:`block_diagonal_mask` turns segment ids into the 4-D additive mask that eager
  and SDPA attention take (causal within an example, nothing across); with FlashAttention-2,
  transformers derives variable-length sequences from the reset ``position_ids`` and no mask is needed.
  Padding positions attend to themselves only, so no softmax row is empty.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import torch

from training.engine.lm_loss import IGNORE_INDEX


@dataclass(frozen=True)
class TokenizedExample:
    input_ids: Tuple[int, ...]
    labels: Tuple[int, ...]  # IGNORE_INDEX where no loss is taken

    def __len__(self) -> int:
        return len(self.input_ids)


def best_fit_decreasing(lengths: Sequence[int], capacity: int) -> Tuple[List[List[int]], List[int]]:
    """(rows of example indices, indices of examples longer than ``capacity``)."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    rows: List[List[int]] = []
    free: List[Tuple[int, int]] = []  # (room left, row number), kept sorted
    too_long: List[int] = []
    for index in order:
        length = lengths[index]
        if length > capacity:
            too_long.append(index)
            continue
        slot = bisect.bisect_left(free, (length, -1))
        if slot < len(free):
            room, row = free.pop(slot)
        else:
            room, row = capacity, len(rows)
            rows.append([])
        rows[row].append(index)
        if room - length > 0:
            bisect.insort(free, (room - length, row))
    return rows, sorted(too_long)


def pack_row(examples: Sequence[TokenizedExample], capacity: int, pad_id: int) -> dict:
    """One packed row of ``capacity`` tokens from whole examples (as lists of ints)."""
    input_ids: List[int] = []
    labels: List[int] = []
    positions: List[int] = []
    segments: List[int] = []
    for number, example in enumerate(examples, start=1):
        input_ids.extend(example.input_ids)
        labels.extend(example.labels)
        positions.extend(range(len(example)))
        segments.extend([number] * len(example))
    if len(input_ids) > capacity:
        raise ValueError(f"examples of {len(input_ids)} tokens do not fit a row of {capacity}")
    padding = capacity - len(input_ids)
    return {"input_ids": input_ids + [pad_id] * padding, "labels": labels + [IGNORE_INDEX] * padding,
            "position_ids": positions + [0] * padding, "segment_ids": segments + [0] * padding}


def pack_examples(examples: Sequence[TokenizedExample], capacity: int, pad_id: int) -> Tuple[List[dict], List[int]]:
    """(packed rows, indices of the examples too long to pack)."""
    rows, too_long = best_fit_decreasing([len(e) for e in examples], capacity)
    return [pack_row([examples[i] for i in row], capacity, pad_id) for row in rows], too_long


def block_diagonal_mask(segment_ids: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """[batch, 1, L, L] additive mask: 0 where a token may attend (same example, not later), the
    dtype's minimum elsewhere."""
    length = segment_ids.shape[-1]
    same = (segment_ids[:, :, None] == segment_ids[:, None, :]) & (segment_ids[:, :, None] > 0)
    causal = torch.tril(torch.ones(length, length, dtype=torch.bool, device=segment_ids.device))
    allowed = (same & causal) | torch.eye(length, dtype=torch.bool, device=segment_ids.device)
    mask = torch.zeros(allowed.shape, dtype=dtype, device=segment_ids.device)
    return mask.masked_fill(~allowed, torch.finfo(dtype).min)[:, None]


def collate(rows: Sequence[dict]) -> dict:
    """Tensors of a batch of packed rows."""
    return {key: torch.tensor([row[key] for row in rows], dtype=torch.long) for key in rows[0]}


__all__ = ["TokenizedExample", "best_fit_decreasing", "pack_row", "pack_examples", "block_diagonal_mask",
           "collate", "IGNORE_INDEX"]
