"""The block classifier: two gradient-boosted tree ensembles read from a ``.npz`` file, evaluated with numpy.

Stage 1 scores each block from its own features (:data:`.features.FEATURE_NAMES`). Stage 2 scores it again
with stage 1's verdicts on its neighbours, its regions and the whole page added (:data:`.features.CONTEXT_NAMES`):
a list item inside a region that is mostly main content is main content, the same list in a region of links
is not. The file (``operators/resources/extraction/block_model.npz``, made by
``pipelines/train_extraction_model.py``) holds the trees as flat arrays, the feature names (checked against the
code's on loading) and the decision threshold. It is read with ``allow_pickle=False``: a model file is data,
never code. All trees are walked at once, one numpy step per tree level (trees in heap order).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict

import numpy as np

from common.config_check import ConfigError
from operators.web.fast_extract.features import CONTEXT_NAMES, FEATURE_NAMES

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "resources" / "extraction" / "block_model.npz"
_ARRAYS = ("feature", "threshold", "left", "right", "value")


@dataclass(frozen=True)
class TreeEnsemble:
    feature: np.ndarray      # (trees, nodes) int: feature of each split node (-1 at leaves)
    threshold: np.ndarray    # (trees, nodes) float32: go left when x <= threshold
    left: np.ndarray         # (trees, nodes) int
    right: np.ndarray        # (trees, nodes) int
    value: np.ndarray        # (trees, nodes) float32: leaf values (log-odds contributions)
    depth: int
    prior: float

    def __post_init__(self) -> None:
        # Each tree is laid out as a complete binary tree of ``depth`` levels in heap order (children of node i
        # at 2i+1 and 2i+2), so a step is arithmetic instead of two lookups: a leaf above the last level becomes
        # a split that always goes left (threshold +inf) down to a leaf holding its value.
        trees = self.feature.shape[0]
        inner, leaves = (1 << self.depth) - 1, 1 << self.depth
        feature = np.zeros((trees, inner), dtype=np.int64)
        threshold = np.full((trees, inner), np.inf, dtype=np.float32)
        value = np.zeros((trees, leaves), dtype=np.float64)
        for t in range(trees):
            stack = [(0, 0, 0)]  # (node in the file's layout, heap position, level)
            while stack:
                node, position, level = stack.pop()
                if self.feature[t, node] < 0:
                    while level < self.depth:   # go left to the last level
                        position, level = 2 * position + 1, level + 1
                    value[t, position - inner] = self.value[t, node]
                    continue
                if level >= self.depth:
                    raise ConfigError(f"block model: a tree is deeper than its stated depth {self.depth}")
                feature[t, position] = self.feature[t, node]
                threshold[t, position] = self.threshold[t, node]
                stack.append((int(self.left[t, node]), 2 * position + 1, level + 1))
                stack.append((int(self.right[t, node]), 2 * position + 2, level + 1))
        # Flat arrays over all trees: node g of the whole ensemble is tree g // inner's node g % inner. A step
        # from g to its child is g -> 2g + 1 + right - tree_start, so it needs no per-tree lookup.
        tree_start = np.arange(trees, dtype=np.intp) * inner
        object.__setattr__(self, "_feature", feature.ravel().astype(np.intp))
        object.__setattr__(self, "_threshold", threshold.ravel())
        object.__setattr__(self, "_root_feature", feature[:, 0].astype(np.intp))
        object.__setattr__(self, "_root_threshold", threshold[:, 0].copy())
        object.__setattr__(self, "_first_child", tree_start + 1)
        object.__setattr__(self, "_step", 1 - tree_start)
        # At the last level g - tree_start - inner is the leaf within its tree; add tree * leaves for the flat value.
        object.__setattr__(self, "_leaf_offset", np.arange(trees, dtype=np.intp) * (leaves - inner) - inner)
        object.__setattr__(self, "_value", value.ravel())

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        rows, width = features.shape
        if rows == 0:
            return np.zeros(0, dtype=np.float64)
        values = np.ascontiguousarray(features, dtype=np.float32)
        # Level 0: every tree is at its root, so the comparisons are one column gather.
        node = self._first_child + (values[:, self._root_feature] > self._root_threshold)
        flat = values.ravel()
        row_base = (np.arange(rows, dtype=np.intp) * width)[:, None]
        for _level in range(1, self.depth):
            goes_right = flat[row_base + self._feature[node]] > self._threshold[node]
            node = 2 * node + self._step + goes_right
        score = self.prior + self._value[node + self._leaf_offset].sum(axis=1)
        return 1.0 / (1.0 + np.exp(-score))

    def arrays(self, prefix: str) -> Dict[str, np.ndarray]:
        return {f"{prefix}_feature": self.feature.astype(np.int16), f"{prefix}_threshold": self.threshold,
                f"{prefix}_left": self.left.astype(np.int16), f"{prefix}_right": self.right.astype(np.int16),
                f"{prefix}_value": self.value, f"{prefix}_depth": np.int32(self.depth),
                f"{prefix}_prior": np.float64(self.prior)}

    @classmethod
    def from_arrays(cls, data, prefix: str) -> "TreeEnsemble":
        return cls(*(np.asarray(data[f"{prefix}_{name}"]) for name in _ARRAYS),
                   depth=int(data[f"{prefix}_depth"]), prior=float(data[f"{prefix}_prior"]))


@dataclass(frozen=True)
class BlockClassifier:
    stage1: TreeEnsemble
    stage2: TreeEnsemble
    threshold: float          # a block is main content when stage 2's probability is >= this


def load_block_model(path: Path = DEFAULT_MODEL) -> BlockClassifier:
    """Read and check a model file; a missing, unreadable or mismatched file is one ConfigError naming it."""
    try:
        with np.load(path, allow_pickle=False) as data:
            names = tuple(str(name) for name in data["feature_names"])
            context = tuple(str(name) for name in data["context_names"])
            model = BlockClassifier(TreeEnsemble.from_arrays(data, "stage1"), TreeEnsemble.from_arrays(data, "stage2"),
                                    float(data["threshold"]))
    except (OSError, KeyError, ValueError) as error:
        raise ConfigError(f"extract.fast_model_path: cannot read the block model {path}: {error}") from error
    if names != FEATURE_NAMES or context != CONTEXT_NAMES:
        raise ConfigError(f"extract.fast_model_path: {path} was trained on other features than this code computes; "
                          "retrain it with pipelines/train_extraction_model.py")
    return model


def save_block_model(path: Path, model: BlockClassifier) -> None:
    np.savez_compressed(path, **model.stage1.arrays("stage1"), **model.stage2.arrays("stage2"),
                        threshold=np.float64(model.threshold), feature_names=np.array(FEATURE_NAMES),
                        context_names=np.array(CONTEXT_NAMES))
