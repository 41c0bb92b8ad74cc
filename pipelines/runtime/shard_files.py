"""Files of a global dedup stage: which shards it reads, where their counterparts go, how they are written,
and the intermediate numpy arrays its stages hand each other (written with ``common.atomic_io``).

A stage reads every ``<lang>/*.parquet`` shard under an input folder (a ``curate_cc.py`` output) and
writes one shard per input, at the same relative path under the output folder, atomically.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from typing import List

import numpy as np
import pyarrow as pa

from common.atomic_io import write_parquet


def list_inputs(root: str) -> List[str]:
    """Curated shards ``ROOT/<lang>/*.parquet`` (folders starting with ``_`` are bookkeeping), sorted by
    relative path: the order that numbers the documents."""
    found = []
    for path in glob.glob(os.path.join(root, "*", "*.parquet")):
        if not os.path.basename(os.path.dirname(path)).startswith("_"):
            found.append(os.path.abspath(path))
    return sorted(found, key=lambda p: os.path.relpath(p, root))


@dataclass
class StageFiles:
    inputs: List[str]      # absolute paths of the input shards, in list_inputs order
    input_root: str
    output_root: str
    work: str              # the stage's folder for intermediate files

    def relative(self, index: int) -> str:
        return os.path.relpath(self.inputs[index], self.input_root)

    def shard_tasks(self) -> List["ShardTask"]:
        return [ShardTask(i, path, self.work, self.output_root, self.relative(i)) for i, path in enumerate(self.inputs)]


@dataclass
class ShardTask:
    """A stage's work on one input shard: read ``path``, write its counterpart at ``output_root/relative``."""
    file: int              # the shard's index in list_inputs order
    path: str
    work: str
    output_root: str
    relative: str


def write_shard(table: pa.Table, output_root: str, relative: str) -> None:
    write_parquet(table, os.path.join(output_root, relative))


def load_arrays(pattern: str, columns: int = 2, dtype=np.uint64) -> np.ndarray:
    """The ``.npy`` arrays matching ``pattern``, in path order, stacked (``[0, columns]`` if none)."""
    arrays = [np.load(path) for path in sorted(glob.glob(pattern))]
    arrays = [a for a in arrays if a.size]
    if not arrays:
        return np.empty((0, columns), dtype=dtype)
    return np.concatenate(arrays)
