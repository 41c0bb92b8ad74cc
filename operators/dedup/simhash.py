"""64-bit SimHash (Charikar 2002; Manku et al. 2007) of texts, and near-duplicate pairs by Hamming
distance.

A text's fingerprint: every word n-gram (``operators.dedup.minhash``'s normalized ICU words) hashed with
XXH3-64; bit i of the fingerprint is set when more n-grams have bit i set than not. Pairs within
``max_distance`` bits are found with Manku et al.'s pigeonhole tables: split the 64 bits into
``max_distance + 1`` blocks; two fingerprints that differ in at most ``max_distance`` bits agree
exactly on at least one block, so only texts sharing a block value are compared.
"""

from __future__ import annotations

from collections import defaultdict
from typing import List, Sequence, Set, Tuple

import numpy as np

from operators.dedup.minhash import shingle_hashes

_BITS = np.arange(64, dtype=np.uint64)


def fingerprints(texts: Sequence[str], langs: Sequence[str], ngram: int = 3, keep_digits: bool = True) -> np.ndarray:
    """uint64 fingerprints; a text without words gets 0."""
    values, counts = shingle_hashes(texts, langs, ngram, keep_digits)
    out = np.zeros(len(texts), dtype=np.uint64)
    start = 0
    for i, count in enumerate(counts.tolist()):
        if count:
            bits = ((values[start:start + count, None] >> _BITS) & np.uint64(1)).astype(np.int64)
            majority = bits.sum(axis=0) * 2 > count
            out[i] = np.bitwise_or.reduce(np.where(majority, np.uint64(1) << _BITS, np.uint64(0)))
        start += count
    return out


def hamming(a: int, b: int) -> int:
    return bin(int(a) ^ int(b)).count("1")


def near_pairs(prints: np.ndarray, max_distance: int = 3) -> List[Tuple[int, int]]:
    """Index pairs (i < j) whose fingerprints differ in at most ``max_distance`` bits; texts without
    words (fingerprint 0) pair with nothing."""
    blocks = max_distance + 1
    edges = np.linspace(0, 64, blocks + 1).astype(int)
    pairs: Set[Tuple[int, int]] = set()
    for lo, hi in zip(edges[:-1], edges[1:]):
        mask = np.uint64((1 << int(hi - lo)) - 1)
        tables = defaultdict(list)
        for index, (value, whole) in enumerate(zip(((prints >> np.uint64(lo)) & mask).tolist(), prints.tolist())):
            if whole:
                tables[value].append(index)
        for members in tables.values():
            for a_pos, a in enumerate(members):
                for b in members[a_pos + 1:]:
                    if (a, b) not in pairs and hamming(prints[a], prints[b]) <= max_distance:
                        pairs.add((a, b))
    return sorted(pairs)


__all__ = ["fingerprints", "near_pairs", "hamming"]
