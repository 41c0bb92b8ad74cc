"""Fixed-length training samples blended from token shards (paper §3.2; Megatron's GPT/blended datasets).

* **Samples of one shard**: its documents (each ending in ``<|endoftext|>``) are concatenated in an
  order shuffled per epoch (``numpy.random.RandomState(seed, shard, epoch)``) and cut into samples of
  ``seq_length + 1`` tokens that overlap by one token (inputs and shifted labels), as Megatron's
  ``GPTDataset`` does. A shard used for ``epochs`` (from the stage blend; 0.3 = its first 30 % of
  tokens after shuffling, 2.5 = two shuffled passes and half of a third) yields
  ``floor((tokens * epochs - 1) / seq_length)`` samples.
* **Blending**: Megatron's greedy, RNG-free algorithm. Sample ``i`` comes from the shard whose
  ``weight * (i + 1) - samples_taken`` is largest, so after n samples every shard's share is within
  1/n of its weight. Weights are token shares (the blend's ``weight``), and all samples have the same
  length, so sample shares are token shares.
* **Cache**: the two index arrays (shard per sample, sample within the shard) are saved under a hash
  of the shard files (paths and sizes), the weights, the epochs, the seed, the sequence length and the
  number of samples; the same inputs give the same cache key and byte-identical arrays.
* **Resume**: samples are a pure function of their position, so ``samples(start=consumed_samples)``
  continues exactly where a stopped run left off.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence

import numpy as np

from common.atomic_io import save_npy
from training.data.megatron_index import IndexedShard

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BlendSource:
    prefix: str
    weight: float
    epochs: float = 1.0


def sources_from_blend(blend: dict) -> List[BlendSource]:
    """The sources of a ``build_mixture.py`` blend document."""
    return [BlendSource(e["prefix"], float(e["weight"]), float(e["epochs"])) for e in blend["entries"]]


def greedy_blend(weights: Sequence[float], num_samples: int) -> tuple:
    """(source of each sample, index of the sample within its source): Megatron's greedy blending."""
    weights = np.asarray(weights, dtype=np.float64)
    weights = weights / weights.sum()
    source = np.empty(num_samples, dtype=np.int16 if len(weights) < 2**15 else np.int32)
    within = np.empty(num_samples, dtype=np.int64)
    taken = np.zeros(len(weights), dtype=np.int64)
    for i in range(num_samples):
        errors = weights * (i + 1) - taken
        chosen = int(np.argmax(errors))
        source[i] = chosen
        within[i] = taken[chosen]
        taken[chosen] += 1
    return source, within


class ShardSamples:
    """Fixed-length samples of one shard over ``epochs`` shuffled passes."""

    def __init__(self, source: BlendSource, number: int, seq_length: int, seed: int) -> None:
        self.shard = IndexedShard(source.prefix)
        self.seq_length = seq_length
        lengths = self.shard.lengths.astype(np.int64)
        self.tokens_per_epoch = int(lengths.sum())
        self.usable = int(self.tokens_per_epoch * source.epochs)
        self.count = max(0, (self.usable - 1) // seq_length)
        epochs = int(np.ceil(source.epochs)) if source.epochs > 0 else 0
        self.orders, self.starts = [], []
        for epoch in range(epochs):
            order = np.random.RandomState([seed, number, epoch]).permutation(len(lengths))
            self.orders.append(order)
            self.starts.append(np.concatenate(([0], np.cumsum(lengths[order]))))

    def __len__(self) -> int:
        return self.count

    def _tokens(self, start: int, end: int) -> np.ndarray:
        """Tokens [start, end) of the virtual stream of shuffled epochs."""
        pieces = []
        while start < end:
            epoch, offset = divmod(start, self.tokens_per_epoch)
            starts = self.starts[epoch]
            position = int(np.searchsorted(starts, offset, side="right")) - 1
            document = self.shard[int(self.orders[epoch][position])]
            within = offset - int(starts[position])
            take = min(end - start, len(document) - within)
            pieces.append(document[within:within + take])
            start += take
        return np.concatenate(pieces)

    def __getitem__(self, index: int) -> np.ndarray:
        start = (index % self.count) * self.seq_length  # past the end: wrap around (warned at build)
        return self._tokens(start, start + self.seq_length + 1)


class BlendedDataset:
    def __init__(self, sources: Sequence[BlendSource], seq_length: int, num_samples: int, seed: int = 1234,
                 cache_dir: Optional[str] = None) -> None:
        if not sources:
            raise ValueError("no sources to blend")
        self.sources = list(sources)
        self.seq_length = seq_length
        self.num_samples = num_samples
        self.shards = [ShardSamples(s, i, seq_length, seed) for i, s in enumerate(self.sources)]
        for shard, source in zip(self.shards, self.sources):
            if source.weight > 0 and len(shard) == 0:
                raise ValueError(f"{source.prefix}: fewer than {seq_length + 1} tokens to use: no sample")
        self.cache_key = cache_key(self.sources, seq_length, num_samples, seed)
        self.source_index, self.sample_index = self._index(cache_dir)
        taken = np.bincount(self.source_index, minlength=len(self.shards))
        for shard, source, used in zip(self.shards, self.sources, taken.tolist()):
            if used > len(shard):
                log.warning("%s: the blend takes %d samples, it has %d: its samples repeat", source.prefix, used,
                            len(shard))

    def _index(self, cache_dir: Optional[str]) -> tuple:
        if cache_dir:
            folder = os.path.join(cache_dir, self.cache_key)
            paths = [os.path.join(folder, name) for name in ("source_index.npy", "sample_index.npy")]
            if all(os.path.exists(p) for p in paths):
                return tuple(np.load(p) for p in paths)
        arrays = greedy_blend([s.weight for s in self.sources], self.num_samples)
        if cache_dir:
            for path, array in zip(paths, arrays):
                save_npy(path, array)
        return arrays

    def __len__(self) -> int:
        return self.num_samples

    def __getitem__(self, index: int) -> np.ndarray:
        return self.shards[int(self.source_index[index])][int(self.sample_index[index])]

    def samples(self, start: int = 0) -> Iterator[np.ndarray]:
        """Samples from position ``start`` on (``consumed_samples`` when resuming)."""
        for index in range(start, self.num_samples):
            yield self[index]


def cache_key(sources: Sequence[BlendSource], seq_length: int, num_samples: int, seed: int) -> str:
    described = [{"prefix": os.path.abspath(s.prefix), "weight": repr(float(s.weight)), "epochs": repr(float(s.epochs)),
                  "sizes": [os.path.getsize(s.prefix + ext) for ext in (".bin", ".idx")]} for s in sources]
    text = json.dumps({"sources": described, "seq_length": seq_length, "num_samples": num_samples, "seed": seed},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]
