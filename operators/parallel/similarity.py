"""Cross-lingual similarity of parallel pairs: cosine and the ratio-margin score (paper §3.1.2).

Encoder (``operators/embeddings/encoders.py``): ``laser`` — the paper's LASER BiLSTM (93 languages) from
the three files of ``model_dir``; ``use`` — Universal Sentence Encoder Multilingual v3 (16 languages,
packaged: no files). Loaded once per worker process.

Score (Artetxe & Schwenk 2019, as WikiMatrix and CCMatrix mine): for a batch of pairs with unit
embeddings ``x_i`` (sources) and ``y_i`` (targets),

    margin(x, y) = cos(x, y) / ( sum_{z in NN_k(x)} cos(x, z) / 2k + sum_{z in NN_k(y)} cos(y, z) / 2k )

where ``NN_k(x)`` are the ``k`` targets of the batch closest to ``x`` and ``NN_k(y)`` the ``k`` closest
sources to ``y``. A pair whose margin is below ``min_margin`` is dropped as ``sim:low_margin``.
Neighbours come from the batch, so batches must be large (``batch_size``, default 1,000 pairs; a
trailing remainder joins the previous batch). Fewer than ``2k + 1`` pairs in total cannot give a margin:
they are kept with the note ``sim:too_few_pairs`` and a null margin.

Languages: a pair with either side outside the encoder's languages is never scored (USE scores nonsense
there) and takes no part in its batch's margins: ``unsupported_lang: keep`` keeps it with the note
``sim:unsupported_lang``, ``drop`` drops it with that reason.

Threshold: one ``min_margin`` serves both encoders, since the ratio margin divides out each encoder's cosine
scale (USE puts unrelated sentences near cosine 0-0.3, LASER much higher). 1.04 is WikiMatrix's (Schwenk et
al. 2019, k = 4) for LASER (not measured here: its models cannot be downloaded). For USE, measured on
FLORES-200 dev en-X (its 14 languages here, 997 pairs in one batch, a third of the targets misaligned:
shuffled within the batch, or drawn from outside it): true pairs' margins are 1.61 median, 1.26 at the 1st
percentile; misaligned ones 0.06 median, 0.56 (shuffled) to 0.78 (outside) at the 99th. The error (true pairs
dropped + misaligned pairs kept, averaged over both kinds) is lowest, 0.11 %, for every threshold in
1.01-1.07; WikiMatrix's 1.04 is the middle of that range. At 1.04, shuffled targets: FLORES dev keeps 99.97 %
of true pairs and drops all misaligned ones; held-out NTREX-128 (1,997 news sentences, whose neighbours in the
same article sit closer) keeps 98.9 % (en-ar lowest, 97.9 %) and drops 99.99 %.
``tests/operators/parallel/test_similarity.py`` measures both on their first 600 lines and prints the figures
per language.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np
import pyarrow as pa

from common.config_check import ConfigError
from operators.base import Operator, Outcome
from operators.embeddings.encoders import EncoderConfig, SentenceEncoder, load_encoder, unit_rows

UNSUPPORTED = ("keep", "drop")
LOW_MARGIN = "sim:low_margin"
TOO_FEW_PAIRS = "sim:too_few_pairs"
UNSUPPORTED_LANG = "sim:unsupported_lang"


@dataclass
class SimilarityConfig(EncoderConfig):
    """``encoder``, ``model_dir``, ``device``: which encoder (:class:`EncoderConfig`); ``laser`` without a
    ``model_dir`` = no similarity step (the output says so)."""

    # WikiMatrix's ratio-margin threshold with k = 4; it holds for USE too (module docstring).
    min_margin: float = 1.04
    k: int = 4
    batch_size: int = 1000
    # A pair in a language the encoder was not trained on: keep (noted) or drop.
    unsupported_lang: str = "keep"

    def validate(self) -> None:
        super().validate()
        if self.k < 1 or self.batch_size < 2 * self.k + 1:
            raise ConfigError("k, batch_size: k must be positive and batch_size at least 2k + 1")
        if self.unsupported_lang not in UNSUPPORTED:
            raise ConfigError(f"unsupported_lang: expected one of {', '.join(UNSUPPORTED)}, "
                              f"got {self.unsupported_lang!r}")

    @property
    def enabled(self) -> bool:
        return self.encoder != "laser" or bool(self.model_dir)

    def check_files(self) -> None:
        if not self.enabled:
            return
        try:
            super().check_files()
        except ConfigError as error:
            raise ConfigError(f"similarity.{error}") from None

    def describe(self) -> str:
        """What ``stats.json`` and every shard's metadata say about the step."""
        if not self.enabled:
            return "not applied: encoder laser without model_dir (heuristic filters only)"
        encoder = (f"laser ({self.model_dir})" if self.encoder == "laser"
                   else "use (Universal Sentence Encoder Multilingual v3)")
        return (f"similarity margin >= {self.min_margin} (k={self.k}) with {encoder}; "
                f"unsupported languages: {self.unsupported_lang}")


def margin_scores(src: np.ndarray, tgt: np.ndarray, k: int) -> Tuple[np.ndarray, np.ndarray]:
    """(cosine, ratio margin) of aligned rows of ``src`` and ``tgt``, neighbours from the same batch."""
    similarity = unit_rows(src) @ unit_rows(tgt).T
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


def score_pairs(encoder: SentenceEncoder, config: SimilarityConfig, sources: List[str], targets: List[str],
                src_lang: str, tgt_lang: str) -> Tuple[np.ndarray, np.ndarray]:
    """(cosine, margin) per pair of one language pair, NaN margins when there are fewer than 2k + 1 pairs."""
    cosine = np.full(len(sources), np.nan, dtype=np.float32)
    margin = np.full(len(sources), np.nan, dtype=np.float32)
    for start, end in batches(len(sources), config.batch_size):
        batch_cosine, batch_margin = margin_scores(encoder.encode(sources[start:end], src_lang),
                                                   encoder.encode(targets[start:end], tgt_lang), config.k)
        cosine[start:end] = batch_cosine
        if end - start >= 2 * config.k + 1:
            margin[start:end] = batch_margin
    return cosine, margin


def _nullable(values: np.ndarray) -> pa.Array:
    """float32 column, NaN as null."""
    return pa.array(np.where(np.isnan(values), None, values).tolist(), type=pa.float32())


class SimilarityScorer(Operator):
    """Adds ``sim_cosine``, ``sim_margin`` and ``sim_model`` (the encoder's name; null where a pair was not
    scored) to a table of pairs and drops pairs below ``min_margin``. Give it a whole file's pairs:
    neighbours come from the batch, among the pairs of the same language pair the encoder covers."""

    name = "similarity"

    def __init__(self, config: SimilarityConfig) -> None:
        self.config = config

    def setup(self) -> None:
        load_encoder(self.config)

    def process(self, batch: pa.Table) -> Outcome:
        encoder = load_encoder(self.config)
        sources, targets = batch.column("src_text").to_pylist(), batch.column("tgt_text").to_pylist()
        groups: Dict[Tuple[str, str], List[int]] = {}
        for row, langs in enumerate(zip(batch.column("src_lang").to_pylist(), batch.column("tgt_lang").to_pylist())):
            groups.setdefault(langs, []).append(row)
        cosine = np.full(batch.num_rows, np.nan, dtype=np.float32)
        margin = np.full(batch.num_rows, np.nan, dtype=np.float32)
        scored = np.zeros(batch.num_rows, dtype=bool)
        for (src_lang, tgt_lang), rows in groups.items():
            if encoder.covers(src_lang) and encoder.covers(tgt_lang):
                cosine[rows], margin[rows] = score_pairs(encoder, self.config, [sources[i] for i in rows],
                                                         [targets[i] for i in rows], src_lang, tgt_lang)
                scored[rows] = True
        reasons: List[Optional[str]] = []
        notes: List[Optional[str]] = []
        for is_scored, value in zip(scored.tolist(), margin.tolist()):
            if not is_scored:
                keep = self.config.unsupported_lang == "keep"
                reasons.append(None if keep else UNSUPPORTED_LANG)
                notes.append(UNSUPPORTED_LANG if keep else None)
            elif np.isnan(value):
                reasons.append(None)
                notes.append(TOO_FEW_PAIRS)
            else:
                reasons.append(None if value >= self.config.min_margin else LOW_MARGIN)
                notes.append(None)
        table = batch.append_column("sim_cosine", _nullable(cosine))
        table = table.append_column("sim_margin", _nullable(margin))
        table = table.append_column("sim_model", pa.array([encoder.name if s else None for s in scored.tolist()],
                                                          type=pa.string()))
        return Outcome(table, reasons, notes)


__all__ = ["SimilarityConfig", "SimilarityScorer", "margin_scores", "score_pairs", "batches",
           "LOW_MARGIN", "TOO_FEW_PAIRS", "UNSUPPORTED_LANG"]
