"""Megatron indexed datasets (``.bin`` + ``.idx``): the token-shard contract between curation and training.

The layout megatron-core's ``IndexedDataset`` reads (``megatron/core/datasets/indexed_dataset.py``):

* ``PREFIX.bin``: every sequence's token ids back to back, here int32 (the Qwen2 vocabulary has
  151,643+ ids, more than uint16 holds);
* ``PREFIX.idx``, little-endian:

  ====================  =========================================================
  bytes                 content
  ====================  =========================================================
  9                     magic ``MMIDIDX\\x00\\x00``
  8 (uint64)            version, 1
  1 (uint8)             dtype code (int32 = 4; uint16 = 8; int64 = 5; ...)
  8 (uint64)            sequence count S
  8 (uint64)            document-index count D + 1
  4 * S (int32)         sequence lengths in tokens
  8 * S (int64)         sequence byte offsets into ``.bin``
  8 * (D + 1) (int64)   document indices: sequences ``[d[i], d[i+1])`` form document i
  ====================  =========================================================

One document is one sequence here (its tokens plus the end-of-document token), so the document
indices are ``0, 1, ..., S``. :class:`IndexedShardWriter` streams tokens to ``.bin`` and writes
``.idx`` at the end, both through temporary names, so a shard is either complete or absent.
"""

from __future__ import annotations

import os
import struct
from typing import List, Sequence

import numpy as np

from common.atomic_io import publish

MAGIC = b"MMIDIDX\x00\x00"
VERSION = 1
DTYPE_CODES = {np.dtype(np.uint8): 1, np.dtype(np.int8): 2, np.dtype(np.int16): 3, np.dtype(np.int32): 4,
               np.dtype(np.int64): 5, np.dtype(np.float64): 6, np.dtype(np.float32): 7, np.dtype(np.uint16): 8}
CODE_DTYPES = {code: dtype for dtype, code in DTYPE_CODES.items()}


def index_header(dtype, sequences: int, documents: int) -> bytes:
    """The fixed-size start of an ``.idx`` file (``documents`` = number of documents, not indices)."""
    return (MAGIC + struct.pack("<Q", VERSION) + struct.pack("<B", DTYPE_CODES[np.dtype(dtype)])
            + struct.pack("<Q", sequences) + struct.pack("<Q", documents + 1))


class IndexedShardWriter:
    def __init__(self, prefix: str, dtype=np.int32) -> None:
        self.prefix = prefix
        self.dtype = np.dtype(dtype)
        self.lengths: List[int] = []
        os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
        self._bin = open(prefix + ".bin.inprogress", "wb")

    def add_document(self, tokens: Sequence[int]) -> None:
        self.add_documents(np.asarray(tokens, dtype=self.dtype), [len(tokens)])

    def add_documents(self, tokens: np.ndarray, lengths: Sequence[int]) -> None:
        """Several documents at once: their tokens back to back and each one's length."""
        self._bin.write(np.ascontiguousarray(tokens, dtype=self.dtype).tobytes(order="C"))
        self.lengths.extend(int(n) for n in lengths)

    def finalize(self) -> None:
        self._bin.close()
        lengths = np.array(self.lengths, dtype=np.int32)
        pointers = np.zeros(len(lengths), dtype=np.int64)
        if len(lengths):
            pointers[1:] = np.cumsum(lengths[:-1].astype(np.int64)) * self.dtype.itemsize
        with open(self.prefix + ".idx.inprogress", "wb") as idx:
            idx.write(index_header(self.dtype, len(lengths), len(lengths)))
            idx.write(lengths.tobytes(order="C"))
            idx.write(pointers.tobytes(order="C"))
            idx.write(np.arange(len(lengths) + 1, dtype=np.int64).tobytes(order="C"))
        # The .idx last: a shard whose .idx exists is complete.
        publish(self.prefix + ".bin.inprogress", self.prefix + ".bin")
        publish(self.prefix + ".idx.inprogress", self.prefix + ".idx")

    def abort(self) -> None:
        self._bin.close()
        for suffix in (".bin.inprogress", ".idx.inprogress"):
            if os.path.exists(self.prefix + suffix):
                os.remove(self.prefix + suffix)


class IndexedShard:
    """Read access to one ``.bin`` / ``.idx`` pair (memory-mapped)."""

    def __init__(self, prefix: str) -> None:
        with open(prefix + ".idx", "rb") as handle:
            header = handle.read(len(MAGIC) + 8 + 1 + 8 + 8)
        if header[: len(MAGIC)] != MAGIC:
            raise ValueError(f"{prefix}.idx: not a Megatron index (bad magic)")
        offset = len(MAGIC)
        version, = struct.unpack_from("<Q", header, offset)
        if version != VERSION:
            raise ValueError(f"{prefix}.idx: index version {version}, expected {VERSION}")
        self.dtype = CODE_DTYPES[header[offset + 8]]
        sequences, indices = struct.unpack_from("<QQ", header, offset + 9)
        index = np.memmap(prefix + ".idx", mode="r", dtype=np.uint8)
        start = len(header)
        self.lengths = np.frombuffer(index, dtype=np.int32, count=sequences, offset=start)
        self.pointers = np.frombuffer(index, dtype=np.int64, count=sequences, offset=start + 4 * sequences)
        self.document_indices = np.frombuffer(index, dtype=np.int64, count=indices, offset=start + 12 * sequences)
        self.tokens = np.memmap(prefix + ".bin", mode="r", dtype=self.dtype)

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, i: int) -> np.ndarray:
        start = int(self.pointers[i]) // self.dtype.itemsize
        return np.asarray(self.tokens[start:start + int(self.lengths[i])])
