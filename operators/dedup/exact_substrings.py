"""Exact-substring deduplication over token ids (Lee et al. 2022, "Deduplicating Training Data Makes
Language Models Better"; used by RefineWeb, paper §3.1.1).

Within one partition of documents:

1. The documents' token ids are concatenated, each followed by its own separator id
   (``separator_base + document index``, above every real token id), so no match can cross a
   document boundary: a separator occurs once in the whole array.
2. A suffix array (``pydivsufsort``, C) and its LCP array (Kasai) are built over the int32 array.
3. Every suffix whose longest common prefix with a neighbour in the suffix array is at least
   ``min_tokens`` starts a repeated span of that length. Every occurrence of a repeated substring
   is the prefix of a suffix in a group of at least two adjacent suffixes, so marking
   ``[start, start + max(lcp with either neighbour))`` for those suffixes covers every occurrence of
   every repeated span of ``min_tokens`` tokens or more, and nothing shorter.
4. All occurrences are removed, the first included. That is what Lee et al.'s released tool does
   (its ``collect`` step lists every occurrence) and what RefineWeb ran; no copy is privileged, so
   the result does not depend on document order.

Token runs map back to characters through the tokenizer's offsets, never by decoding: a run
``[s, e)`` removes the characters that only tokens of the run cover (a character shared by a token
inside and one outside the run, which byte-level BPE can produce inside a multi-byte character,
is kept).
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np


def duplicated_token_mask(documents: Sequence[np.ndarray], min_tokens: int, separator_base: int) -> List[np.ndarray]:
    """Per document, a bool mask of its tokens that lie in a span of >= ``min_tokens`` tokens that
    occurs more than once in the partition (within a document or across documents)."""
    from pydivsufsort import divsufsort, kasai

    lengths = np.array([len(d) for d in documents], dtype=np.int64)
    if not len(documents) or lengths.sum() < min_tokens:
        return [np.zeros(len(d), dtype=bool) for d in documents]
    if separator_base + len(documents) >= 2**31:
        raise ValueError("too many documents in one partition for int32 separators")
    pieces = []
    for index, tokens in enumerate(documents):
        pieces.append(np.asarray(tokens, dtype=np.int32))
        pieces.append(np.array([separator_base + index], dtype=np.int32))
    text = np.concatenate(pieces)
    suffixes = divsufsort(text)
    lcp = kasai(text, suffixes)  # lcp[i] = common prefix of suffixes[i] and suffixes[i + 1]; last = 0
    neighbour = np.maximum(lcp, np.r_[0, lcp[:-1]]).astype(np.int64)
    repeated = neighbour >= min_tokens
    starts = suffixes[repeated].astype(np.int64)
    ends = starts + neighbour[repeated]
    # Union of the intervals: +1 at each start, -1 at each end, covered where the running sum > 0.
    delta = np.bincount(starts, minlength=len(text) + 1) - np.bincount(ends, minlength=len(text) + 1)
    covered = np.cumsum(delta[:-1]) > 0
    masks = []
    position = 0
    for length in lengths.tolist():
        masks.append(covered[position:position + length].copy())
        position += length + 1
    return masks


def token_runs(mask: np.ndarray) -> List[Tuple[int, int]]:
    """``[start, end)`` runs of True in a bool mask."""
    if not mask.any():
        return []
    edges = np.flatnonzero(np.diff(np.r_[0, mask.astype(np.int8), 0]))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist()))


def character_ranges(runs: Sequence[Tuple[int, int]], offsets: np.ndarray) -> List[Tuple[int, int]]:
    """Character ranges covered only by the tokens of each run (``offsets``: [tokens, 2] char offsets)."""
    ranges = []
    count = len(offsets)
    for start, end in runs:
        first = int(offsets[start, 0]) if start == 0 else max(int(offsets[start, 0]), int(offsets[start - 1, 1]))
        last = int(offsets[end - 1, 1]) if end == count else min(int(offsets[end - 1, 1]), int(offsets[end, 0]))
        if last > first:
            ranges.append((first, last))
    return ranges


def remove_ranges(text: str, ranges: Sequence[Tuple[int, int]]) -> str:
    """``text`` without the (sorted, disjoint) character ranges."""
    if not ranges:
        return text
    kept, position = [], 0
    for start, end in ranges:
        kept.append(text[position:start])
        position = end
    kept.append(text[position:])
    return "".join(kept)


__all__ = ["duplicated_token_mask", "token_runs", "character_ranges", "remove_ranges"]
