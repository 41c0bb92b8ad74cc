"""Deduplication of a whole set of texts in memory — instruction data (paper §4.1.1, "semantic
deduplication") and knowledge data (§3.1.3: "n-gram deduplication and semantic deduplication") — in stages
that each keep the first text of a group (input order) and drop the others with their own reason:

1. ``dedup:exact_instruction``: the same instruction (all user turns; Unicode NFKC, case-folded,
   whitespace collapsed);
2. ``dedup:near_minhash``: MinHash over word 3-grams of the instructions (``operators.dedup.minhash``, digits
   kept: questions differing only in their numbers are different), LSH candidates confirmed by the
   signatures' agreement (estimated Jaccard >= ``minhash_threshold``);
3. ``dedup:near_simhash``: 64-bit SimHash within ``simhash_max_distance`` bits (``operators.dedup.simhash``);
4. ``dedup:semantic``: cosine similarity >= ``embedding_threshold`` (0.7) of mean-pooled embeddings from
   ``embedding_model`` (a Hugging Face encoder folder), or of a sentence encoder of
   ``operators/embeddings/encoders.py`` named by ``embedding_encoder`` (``use``: no files; only texts in its
   languages take part, the others are never compared), when one is given.

Groups are connected components: a chain of near-duplicates is one group, kept once.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from common.config_check import ConfigError, PathOrName
from operators.dedup.minhash import MinHashConfig, band_keys, signatures
from operators.dedup.simhash import fingerprints, near_pairs
from pipelines.global_dedup.connected_components import components_in_memory


@dataclass
class WholeSetDedupConfig:
    exact: bool = True
    minhash: bool = True
    minhash_threshold: float = 0.8
    simhash: bool = True
    simhash_max_distance: int = 3
    embedding_model: Optional[PathOrName] = None
    # use (operators/embeddings/encoders.py) instead of embedding_model; null = neither.
    embedding_encoder: Optional[str] = None
    embedding_threshold: float = 0.7
    embedding_batch_size: int = 64

    def validate(self) -> None:
        if not 0 < self.minhash_threshold <= 1 or not 0 < self.embedding_threshold <= 1:
            raise ConfigError("minhash_threshold, embedding_threshold: must be in (0, 1]")
        if not 0 <= self.simhash_max_distance < 16:
            raise ConfigError("simhash_max_distance: must be in [0, 15]")
        if self.embedding_encoder is not None and self.embedding_model:
            raise ConfigError("embedding_encoder, embedding_model: name one of them")
        if self.embedding_encoder is not None and self.embedding_encoder != "use":
            # LASER needs its model folder, which this section has no key for.
            raise ConfigError(f"embedding_encoder: expected use (or null), got {self.embedding_encoder!r}")


def instruction_key(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _drop_non_representatives(alive: List[int], pairs: Sequence[Tuple[int, int]], reasons: List[Optional[str]],
                              reason: str) -> List[int]:
    roots = components_in_memory(pairs)  # {position: smallest position of its group}
    kept = []
    for position, index in enumerate(alive):
        if roots.get(position, position) != position:
            reasons[index] = reason
        else:
            kept.append(index)
    return kept


def minhash_pairs(texts: Sequence[str], langs: Sequence[str], threshold: float) -> List[Tuple[int, int]]:
    config = MinHashConfig(ngram=3, threshold=threshold, num_perm=128, keep_digits=True)
    config.validate()
    sigs, present = signatures(texts, langs, config)
    keys = band_keys(sigs, config.bands, config.rows)
    buckets: Dict[Tuple[int, int], List[int]] = {}
    for index in np.flatnonzero(present).tolist():
        for band, key in enumerate(keys[index].tolist()):
            buckets.setdefault((band, key), []).append(index)
    pairs = set()
    for members in buckets.values():
        for position, a in enumerate(members):
            for b in members[position + 1:]:
                if (a, b) not in pairs and np.mean(sigs[a] == sigs[b]) >= threshold:
                    pairs.add((a, b))
    return sorted(pairs)


def embedding_pairs(vectors: np.ndarray, threshold: float, block: int = 1024) -> List[Tuple[int, int]]:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.maximum(norms, 1e-12)
    pairs = []
    for start in range(0, len(unit), block):
        similar = unit[start:start + block] @ unit.T >= threshold
        for row, column in zip(*np.nonzero(similar)):
            if start + row < column:
                pairs.append((int(start + row), int(column)))
    return pairs


def encoder(model_dir: str, batch_size: int) -> Callable[[Sequence[str]], np.ndarray]:
    """Mean-pooled last hidden states of a Hugging Face encoder (e.g. a multilingual E5 or LaBSE folder)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        model = AutoModel.from_pretrained(model_dir).eval()
    except (OSError, ValueError) as exc:
        raise ConfigError(f"dedup.embedding_model: cannot load {model_dir} ({exc})") from None

    def embed(texts: Sequence[str]) -> np.ndarray:
        out = []
        for start in range(0, len(texts), batch_size):
            encoded = tokenizer(list(texts[start:start + batch_size]), padding=True, truncation=True, max_length=512,
                                return_tensors="pt")
            with torch.no_grad():
                hidden = model(**encoded).last_hidden_state
            mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            out.append(((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).float().numpy())
        return np.concatenate(out) if out else np.zeros((0, 1), dtype=np.float32)

    return embed


def dedup_reasons(instructions: Sequence[str], langs: Sequence[str], config: WholeSetDedupConfig,
                  embed: Optional[Callable[[Sequence[str]], np.ndarray]] = None) -> List[Optional[str]]:
    """One reason per conversation (None = kept), in input order."""
    reasons: List[Optional[str]] = [None] * len(instructions)
    alive = list(range(len(instructions)))
    if config.exact:
        first: Dict[str, int] = {}
        for index in alive:
            key = instruction_key(instructions[index])
            if key in first:
                reasons[index] = "dedup:exact_instruction"
            else:
                first[key] = index
        alive = [i for i in alive if reasons[i] is None]
    texts = lambda: [instructions[i] for i in alive]  # noqa: E731
    languages = lambda: [langs[i] or "" for i in alive]  # noqa: E731
    if config.minhash and alive:
        alive = _drop_non_representatives(alive, minhash_pairs(texts(), languages(), config.minhash_threshold),
                                          reasons, "dedup:near_minhash")
    if config.simhash and alive:
        prints = fingerprints(texts(), languages())
        alive = _drop_non_representatives(alive, near_pairs(prints, config.simhash_max_distance), reasons,
                                          "dedup:near_simhash")
    if config.embedding_encoder and alive:
        alive = _semantic_with_encoder(alive, instructions, langs, config, reasons)
    elif (embed is not None or config.embedding_model) and alive:
        embed = embed or encoder(config.embedding_model, config.embedding_batch_size)
        vectors = np.asarray(embed(texts()), dtype=np.float32)
        alive = _drop_non_representatives(alive, embedding_pairs(vectors, config.embedding_threshold), reasons,
                                          "dedup:semantic")
    return reasons


def _semantic_with_encoder(alive: List[int], texts: Sequence[str], langs: Sequence[Optional[str]],
                           config: WholeSetDedupConfig, reasons: List[Optional[str]]) -> List[int]:
    """The semantic stage over the texts in the encoder's languages (embedded per language)."""
    from operators.embeddings.encoders import EncoderConfig, load_encoder

    model = load_encoder(EncoderConfig(encoder=config.embedding_encoder))
    covered = [i for i in alive if model.covers(langs[i])]
    if not covered:
        return alive
    vectors = np.zeros((len(covered), 0), dtype=np.float32)
    for lang in sorted({langs[i] for i in covered}):
        rows = [p for p, i in enumerate(covered) if langs[i] == lang]
        embedded = model.encode([texts[covered[p]] for p in rows], lang)
        if vectors.shape[1] == 0:
            vectors = np.zeros((len(covered), embedded.shape[1]), dtype=np.float32)
        vectors[rows] = embedded
    _drop_non_representatives(covered, embedding_pairs(vectors, config.embedding_threshold), reasons, "dedup:semantic")
    return [i for i in alive if reasons[i] is None]


DEDUP_REASONS = ("dedup:exact_instruction", "dedup:near_minhash", "dedup:near_simhash", "dedup:semantic")

__all__ = ["WholeSetDedupConfig", "dedup_reasons", "instruction_key", "minhash_pairs", "embedding_pairs", "encoder",
           "DEDUP_REASONS"]
