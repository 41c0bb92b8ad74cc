"""SFT conversations tokenized once, packed, cached, and read back as rows (paper §4.1.2).

``build_packed`` reads ``curate_sft.py``'s ``sft.jsonl``, tokenizes every conversation with the ChatML
template (labels on assistant tokens only), packs them best-fit-decreasing into rows of ``capacity``
tokens and saves, under a key of the data file, the tokenizer, the capacity and the template:

* ``tokens.npy`` (int32, every example's tokens end to end), ``trained.npy`` (uint8, 1 where the token
  is a label), ``offsets.npy`` (int64, example boundaries);
* ``row_examples.npy`` and ``row_offsets.npy``: the examples of each row;
* ``meta.json``: examples, rows, tokens, and the examples left out (``too_long``, ``bad_format``).

So a row costs a few hundred bytes on disk whatever the context length, and every rank reads the
same cache (rank 0 builds it). :class:`PackedSftDataset` rebuilds rows on demand, and orders them per
epoch with ``RandomState(seed, epoch)``: the position of a row in the run is a pure function of the
step, which is what makes resumption exact.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from typing import Dict, List

import numpy as np

from common.atomic_io import publish
from training.sft.chat_template import ChatML, ChatMLFormatError
from training.sft.packing import TokenizedExample, best_fit_decreasing, pack_row

FORMAT_VERSION = 1


def cache_key(data_path: str, tokenizer_source: str, capacity: int, system_prompt: str) -> str:
    stat = os.stat(data_path)
    text = json.dumps({"data": os.path.abspath(data_path), "size": stat.st_size, "mtime": int(stat.st_mtime),
                       "tokenizer": tokenizer_source, "capacity": capacity, "system": system_prompt,
                       "version": FORMAT_VERSION}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def install_folder(tmp: str, folder: str) -> None:
    """Renames a finished cache folder into place; when another process installed the same cache
    first, keeps theirs (the content is the same: the key says so)."""
    try:
        publish(tmp, folder)
    except OSError:
        if not os.path.isdir(folder):
            raise
        shutil.rmtree(tmp, ignore_errors=True)


def build_packed(data_path: str, chatml: ChatML, capacity: int, folder: str) -> Dict[str, int]:
    """Tokenize, pack and save into ``folder`` (written under a temporary name, then renamed)."""
    tokens: List[np.ndarray] = []
    trained: List[np.ndarray] = []
    lengths: List[int] = []
    skipped = {"too_long": 0, "bad_format": 0}
    with open(data_path, encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                example = chatml.tokenize(json.loads(line)["messages"])
            except (ChatMLFormatError, KeyError, TypeError, json.JSONDecodeError):
                skipped["bad_format"] += 1
                continue
            if len(example) > capacity:
                skipped["too_long"] += 1
                continue
            ids = np.asarray(example.input_ids, dtype=np.int32)
            tokens.append(ids)
            trained.append((np.asarray(example.labels) != -100).astype(np.uint8))
            lengths.append(len(ids))
    rows, _ = best_fit_decreasing(lengths, capacity)
    tmp = folder + f".tmp-{os.getpid()}"
    os.makedirs(tmp, exist_ok=True)
    offsets = np.concatenate(([0], np.cumsum(lengths, dtype=np.int64))) if lengths else np.zeros(1, np.int64)
    np.save(os.path.join(tmp, "tokens.npy"), np.concatenate(tokens) if tokens else np.zeros(0, np.int32))
    np.save(os.path.join(tmp, "trained.npy"), np.concatenate(trained) if trained else np.zeros(0, np.uint8))
    np.save(os.path.join(tmp, "offsets.npy"), offsets)
    np.save(os.path.join(tmp, "row_examples.npy"), np.asarray([i for row in rows for i in row], dtype=np.int64))
    np.save(os.path.join(tmp, "row_offsets.npy"),
            np.concatenate(([0], np.cumsum([len(r) for r in rows], dtype=np.int64))))
    meta = {"examples": len(lengths), "rows": len(rows), "tokens": int(offsets[-1]), "capacity": capacity,
            "trained_tokens": int(sum(int(t.sum()) for t in trained)), **skipped}
    with open(os.path.join(tmp, "meta.json"), "w", encoding="utf-8") as handle:
        json.dump(meta, handle, indent=1)
    install_folder(tmp, folder)
    return meta


class PackedSftDataset:
    def __init__(self, folder: str, pad_id: int, seed: int) -> None:
        with open(os.path.join(folder, "meta.json"), encoding="utf-8") as handle:
            self.meta = json.load(handle)
        load = lambda name: np.load(os.path.join(folder, name), mmap_mode="r")  # noqa: E731
        self.tokens, self.trained, self.offsets = load("tokens.npy"), load("trained.npy"), load("offsets.npy")
        self.row_examples, self.row_offsets = load("row_examples.npy"), load("row_offsets.npy")
        self.capacity = self.meta["capacity"]
        self.pad_id = pad_id
        self.seed = seed
        self._orders: Dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return self.meta["rows"]

    def example(self, index: int) -> TokenizedExample:
        lo, hi = int(self.offsets[index]), int(self.offsets[index + 1])
        ids = self.tokens[lo:hi].tolist()
        labels = [t if m else -100 for t, m in zip(ids, self.trained[lo:hi].tolist())]
        return TokenizedExample(tuple(ids), tuple(labels))

    def row(self, index: int) -> dict:
        lo, hi = int(self.row_offsets[index]), int(self.row_offsets[index + 1])
        return pack_row([self.example(int(i)) for i in self.row_examples[lo:hi]], self.capacity, self.pad_id)

    def trained_tokens(self, position: int) -> int:
        """Positions with a loss in the row at ``position``: its assistant tokens, less the row's first
        token, which nothing predicts."""
        index = self._order(position)
        lo, hi = int(self.row_offsets[index]), int(self.row_offsets[index + 1])
        first, total = True, 0
        for example in self.row_examples[lo:hi]:
            start, end = int(self.offsets[example]), int(self.offsets[example + 1])
            total += int(self.trained[start + (1 if first else 0):end].sum())
            first = False
        return total

    def _order(self, position: int) -> int:
        epoch, within = divmod(position, len(self))
        if epoch not in self._orders:
            self._orders = {epoch: np.random.RandomState([self.seed, epoch]).permutation(len(self))}
        return int(self._orders[epoch][within])

    def row_at(self, position: int) -> dict:
        """The row at ``position`` of the run: epochs of shuffled rows, one after another."""
        return self.row(self._order(position))


__all__ = ["build_packed", "PackedSftDataset", "cache_key", "install_folder"]
