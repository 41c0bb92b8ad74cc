"""The block classifier: a gradient-boosted tree ensemble read from a ``.npz`` file, evaluated with numpy.

The file (``operators/resources/extraction/block_model.npz``, made by ``pipelines/train_extraction_model.py``)
holds the trees as flat arrays, ``feature_names`` (checked against :data:`.features.FEATURE_NAMES`), the
prior log-odds and the decision threshold. Loading uses ``allow_pickle=False``: a model file is data, never
code. All trees are walked at once, one numpy step per tree level, so a page of a few hundred blocks costs
well under a millisecond.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.config_check import ConfigError
from operators.web.fast_extract.features import FEATURE_NAMES

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "resources" / "extraction" / "block_model.npz"


@dataclass(frozen=True)
class BlockModel:
    feature: np.ndarray      # (trees, nodes) int32: feature of each split node (-1 at leaves)
    threshold: np.ndarray    # (trees, nodes) float32: go left when x <= threshold
    left: np.ndarray         # (trees, nodes) int32
    right: np.ndarray        # (trees, nodes) int32
    value: np.ndarray        # (trees, nodes) float32: leaf values (log-odds contributions)
    depth: int
    prior: float
    threshold_probability: float

    def __post_init__(self) -> None:
        # Flat arrays with global node numbers; a leaf points to itself on both sides, so every row can take
        # ``depth`` steps without checking for leaves.
        trees, width = self.feature.shape
        offsets = (np.arange(trees, dtype=np.int64) * width)[:, None]
        leaf = self.feature < 0
        own = offsets + np.arange(width)[None, :]
        object.__setattr__(self, "_feature", np.where(leaf, 0, self.feature).ravel().astype(np.int64))
        object.__setattr__(self, "_threshold", self.threshold.ravel())
        object.__setattr__(self, "_left", np.where(leaf, own, offsets + self.left).ravel())
        object.__setattr__(self, "_right", np.where(leaf, own, offsets + self.right).ravel())
        object.__setattr__(self, "_value", self.value.ravel())
        object.__setattr__(self, "_roots", offsets.ravel())

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """P(main content) of each row of ``features`` (blocks × FEATURE_NAMES)."""
        rows, width = features.shape
        if rows == 0:
            return np.zeros(0, dtype=np.float32)
        values = np.ascontiguousarray(features, dtype=np.float32).ravel()
        row_base = (np.arange(rows, dtype=np.int64) * width)[:, None]
        node = np.broadcast_to(self._roots, (rows, self._roots.size))
        for _level in range(self.depth):
            goes_left = values[row_base + self._feature[node]] <= self._threshold[node]
            node = np.where(goes_left, self._left[node], self._right[node])
        score = self.prior + self._value[node].sum(axis=1)
        return 1.0 / (1.0 + np.exp(-score))


def load_block_model(path: Path = DEFAULT_MODEL) -> BlockModel:
    """Read and check a model file; a missing, unreadable or mismatched file is one ConfigError naming it."""
    try:
        with np.load(path, allow_pickle=False) as data:
            names = tuple(str(name) for name in data["feature_names"])
            model = BlockModel(
                feature=data["feature"].astype(np.int32), threshold=data["threshold"].astype(np.float32),
                left=data["left"].astype(np.int32), right=data["right"].astype(np.int32),
                value=data["value"].astype(np.float32), depth=int(data["depth"]), prior=float(data["prior"]),
                threshold_probability=float(data["threshold_probability"]),
            )
    except (OSError, KeyError, ValueError) as error:
        raise ConfigError(f"extract.fast_model_path: cannot read the block model {path}: {error}") from error
    if names != FEATURE_NAMES:
        raise ConfigError(f"extract.fast_model_path: {path} was trained on other features than this code computes "
                          f"({len(names)} vs {len(FEATURE_NAMES)} columns); retrain it with "
                          "pipelines/train_extraction_model.py")
    return model


def save_block_model(path: Path, model: BlockModel, **extra: np.ndarray) -> None:
    np.savez_compressed(
        path, feature=model.feature.astype(np.int16), threshold=model.threshold, left=model.left.astype(np.int16),
        right=model.right.astype(np.int16), value=model.value, depth=np.int32(model.depth),
        prior=np.float64(model.prior), threshold_probability=np.float64(model.threshold_probability),
        feature_names=np.array(FEATURE_NAMES), **extra,
    )
