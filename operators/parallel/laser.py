"""LASER similarity of parallel pairs: cosine and the ratio-margin score (paper §3.1.2).

Encoder: the ``laserembeddings`` package (LASER's BiLSTM, 93 languages) with its three files from
``model_dir``: ``93langs.fcodes``, ``93langs.fvocab`` and ``bilstm.93langs.2018-12-26.pt``. Where there
is internet, ``python -m laserembeddings download-models DIR`` fetches them. GPU when torch sees one
(``device: auto``), CPU otherwise. Loaded once per worker process.

Score (Artetxe & Schwenk 2019, as WikiMatrix and CCMatrix mine): for a batch of pairs with unit
embeddings ``x_i`` (sources) and ``y_i`` (targets),

    margin(x, y) = cos(x, y) / ( sum_{z in NN_k(x)} cos(x, z) / 2k + sum_{z in NN_k(y)} cos(y, z) / 2k )

where ``NN_k(x)`` are the ``k`` targets of the batch closest to ``x`` and ``NN_k(y)`` the ``k`` closest
sources to ``y``. A pair whose margin is below ``min_margin`` (WikiMatrix: 1.04, k = 4) is dropped
as ``laser:low_margin``. Neighbours come from the batch, so batches must be large (``batch_size``,
default 1,000 pairs; a trailing remainder joins the previous batch). Fewer than ``2k + 1`` pairs in
total cannot give a margin: they are kept with the note ``laser:too_few_pairs`` and a null margin.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np
import pyarrow as pa

from common.config_check import ConfigError, ConfigPath
from common.model_cache import cached
from operators.base import Operator, Outcome

BPE_CODES = "93langs.fcodes"
BPE_VOCAB = "93langs.fvocab"
ENCODER = "bilstm.93langs.2018-12-26.pt"
DEVICES = ("auto", "cpu", "cuda")


@dataclass
class LaserConfig:
    # Folder with the three LASER files; None = no LASER step (the output says so).
    model_dir: Optional[ConfigPath] = None
    min_margin: float = 1.04
    k: int = 4
    batch_size: int = 1000
    device: str = "auto"

    def validate(self) -> None:
        if self.k < 1 or self.batch_size < 2 * self.k + 1:
            raise ConfigError("k, batch_size: k must be positive and batch_size at least 2k + 1")
        if self.device not in DEVICES:
            raise ConfigError(f"device: expected one of {', '.join(DEVICES)}, got {self.device!r}")

    @property
    def enabled(self) -> bool:
        return bool(self.model_dir)

    def check_files(self) -> None:
        if not self.enabled:
            return
        for name in (BPE_CODES, BPE_VOCAB, ENCODER):
            path = os.path.join(self.model_dir, name)
            if not os.path.isfile(path):
                raise ConfigError(f"laser.model_dir: {path} not found; where there is internet, "
                                  f"`python -m laserembeddings download-models {self.model_dir}` fetches the models")


def load_encoder(config: LaserConfig):
    """The ``laserembeddings.Laser`` for the config's files, once per process."""

    def load():
        from laserembeddings import Laser

        return Laser(os.path.join(config.model_dir, BPE_CODES), os.path.join(config.model_dir, BPE_VOCAB),
                     os.path.join(config.model_dir, ENCODER), embedding_options={"cpu": config.device == "cpu"})

    return cached(("laser", os.path.abspath(config.model_dir), config.device), load)


def _unit(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.maximum(norms, 1e-12)


def margin_scores(src: np.ndarray, tgt: np.ndarray, k: int) -> Tuple[np.ndarray, np.ndarray]:
    """(cosine, ratio margin) of aligned rows of ``src`` and ``tgt``, neighbours from the same batch."""
    x, y = _unit(src.astype(np.float32)), _unit(tgt.astype(np.float32))
    similarity = x @ y.T
    cosine = np.diag(similarity).copy()
    k = min(k, len(cosine))
    # Mean of the k largest similarities per row (x's targets) and per column (y's sources).
    forward = -np.sort(-similarity, axis=1)[:, :k].mean(axis=1)
    backward = -np.sort(-similarity, axis=0)[:k, :].mean(axis=0)
    return cosine, cosine / ((forward + backward) / 2)


def batches(count: int, size: int) -> List[Tuple[int, int]]:
    """[start, end) batches of ``size``; a remainder smaller than ``size`` joins the last batch."""
    bounds = list(range(0, count, size))
    if len(bounds) > 1 and count - bounds[-1] < size:
        bounds.pop()
    return [(start, bounds[i + 1] if i + 1 < len(bounds) else count) for i, start in enumerate(bounds)]


def score_pairs(config: LaserConfig, sources: List[str], targets: List[str], src_lang: str,
                tgt_lang: str) -> Tuple[np.ndarray, np.ndarray]:
    """(cosine, margin) per pair, NaN margins when there are fewer than 2k + 1 pairs."""
    encoder = load_encoder(config)
    cosine = np.full(len(sources), np.nan, dtype=np.float32)
    margin = np.full(len(sources), np.nan, dtype=np.float32)
    for start, end in batches(len(sources), config.batch_size):
        src = encoder.embed_sentences(sources[start:end], lang=src_lang)
        tgt = encoder.embed_sentences(targets[start:end], lang=tgt_lang)
        batch_cosine, batch_margin = margin_scores(src, tgt, config.k)
        cosine[start:end] = batch_cosine
        if end - start >= 2 * config.k + 1:
            margin[start:end] = batch_margin
    return cosine, margin


class LaserScorer(Operator):
    """Adds ``laser_cosine`` and ``laser_margin`` to a table of pairs (one language pair per table) and
    drops pairs below ``min_margin``. Give it a whole file's pairs: neighbours come from the batch."""

    name = "laser"

    def __init__(self, config: LaserConfig) -> None:
        self.config = config

    def setup(self) -> None:
        load_encoder(self.config)

    def process(self, batch: pa.Table) -> Outcome:
        src_lang, tgt_lang = batch.column("src_lang")[0].as_py(), batch.column("tgt_lang")[0].as_py()
        cosine, margin = score_pairs(self.config, batch.column("src_text").to_pylist(),
                                     batch.column("tgt_text").to_pylist(), src_lang, tgt_lang)
        missing = np.isnan(margin)
        reasons = [None if m or value >= self.config.min_margin else "laser:low_margin"
                   for m, value in zip(missing.tolist(), margin.tolist())]
        notes = ["laser:too_few_pairs" if m else None for m in missing.tolist()]
        table = batch.append_column("laser_cosine", pa.array(cosine, type=pa.float32()))
        table = table.append_column("laser_margin", pa.array(np.where(missing, None, margin).tolist(), type=pa.float32()))
        return Outcome(table, reasons, notes)


__all__ = ["LaserConfig", "LaserScorer", "margin_scores", "score_pairs", "batches", "load_encoder", "BPE_CODES", "BPE_VOCAB", "ENCODER"]
