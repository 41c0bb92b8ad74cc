"""The benchmark index: built once per job from the benchmark files, memory-mapped by every worker.

Layout of an index folder (``numpy`` arrays, written whole through ``common/atomic_io``):

* ``keys.npy`` (uint64, sorted), ``rows.npy`` (int32: the item version), ``starts.npy`` (int32: its first
  unit in the item), ``spans.npy`` (uint8: units it spans) — one row per n-gram of every item version:
  17 bytes per n-gram, about 14 bytes per benchmark unit (``summary.bytes_per_unit``);
* ``bitmap.npy`` (uint8): one bit per hash prefix of the keys (``BITS_PER_KEY`` bits per key), checked before
  the binary search;
* ``item_units.npy`` (int32), ``item_benchmark.npy`` (int16) and ``items.json`` (each version's group id and
  language, the benchmark names) — per item version;
* with an encoder: ``vectors.npy`` (float32, one unit row per benchmark sentence), ``vector_rows.npy``
  (int32: its item version), ``vector_starts.npy`` and ``vector_units.npy`` (int32: the sentence's first unit
  in the item and its units), ``vector_hub.npy`` (float32: its hubness, :func:`hubness`).

An n-gram found in more than ``max_items_per_ngram`` item groups (a benchmark's boilerplate, "Which of the
following ...") is left out: it says nothing about which item leaked. A benchmark sentence's vector is the
mean of its versions in the encoder's languages: on FLORES-200 dev with USE, a translation into a language the
benchmark lacks is closer to that mean than to any one version (recall at the same false-match rate rises
from 0.83-0.99 to 0.84-1.0 per language; ``pipelines/tools/derive_similarity_thresholds.py``).

Where it lives: ``$MARCO_CACHE/decontamination/<digest>`` (default ``~/.cache/marco-curation``), the digest
taken over the settings and the benchmark files' identities, so every worker on a node opens the same
pages and a changed benchmark file builds a new index. The driver builds it before work starts
(:func:`prepare_index`); a worker on another node that finds no copy builds its own from the same files.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional

import numpy as np

from common.atomic_io import write_json
from common.fingerprints import named_files
from common.model_cache import cached
from operators.decontamination.benchmarks import BenchmarkConfig, read_items
from operators.decontamination.ngrams import ngram_keys, unit_hashes
from operators.decontamination.sentences import item_pieces

INDEX_VERSION = 6
_ARRAYS = ("keys", "rows", "starts", "spans", "item_units", "item_benchmark", "bitmap")
# The membership bitmap: about 16 bits per key, so about 1 in 16 document n-grams that are not in the index
# pass it and reach the sorted keys' binary search (most n-grams of a clean document stop here).
BITS_PER_KEY = 16


def bitmap_bits(keys: int) -> int:
    """log2 of the bitmap's size in bits: a power of two, at least 2^20 and at most 2^33 (1 GiB)."""
    return int(min(33, max(20, np.ceil(np.log2(max(1, keys) * BITS_PER_KEY)))))


def bitmap_positions(keys: np.ndarray, bits: int) -> np.ndarray:
    return (keys >> np.uint64(64 - bits)).astype(np.int64)
_VECTOR_ARRAYS = ("vectors", "vector_rows", "vector_units", "vector_starts", "vector_hub")
# Hubness of a benchmark sentence: the mean cosine of its HUB_K nearest other benchmark sentences (among at most
# HUB_SAMPLE of them, seeded). A sentence on a common topic sits close to many others and to much clean text
# alike; the check scores cosine - HUB_WEIGHT x hubness (CSLS-style, Lample et al. 2018, with the benchmark as its
# own neighbourhood). On FLORES-200 dev with USE this raises the translations caught at the same false-match
# rate from 83-100 % to 92-100 % per language (pipelines/tools/derive_similarity_thresholds.py).
HUB_K = 8
HUB_WEIGHT = 0.5
HUB_SAMPLE = 20_000


def hubness(vectors: np.ndarray, k: int = HUB_K, sample: int = HUB_SAMPLE, block: int = 4096) -> np.ndarray:
    """Mean cosine of each row's ``k`` nearest other rows (unit rows), the neighbours drawn from a seeded sample."""
    count = len(vectors)
    if count <= 1:
        return np.zeros(count, dtype=np.float32)
    pool = np.arange(count) if count <= sample else np.sort(np.random.default_rng(0).choice(count, sample, replace=False))
    reference = vectors[pool]
    k = min(k, len(pool) - 1)
    out = np.zeros(count, dtype=np.float32)
    for start in range(0, count, block):
        similarity = vectors[start:start + block] @ reference.T
        rows = np.arange(start, min(start + block, count))
        # A row never counts itself as its own neighbour.
        own = np.searchsorted(pool, rows)
        inside = (own < len(pool)) & (pool[np.minimum(own, len(pool) - 1)] == rows)
        similarity[np.flatnonzero(inside), own[inside]] = -1.0
        out[start:start + len(rows)] = -np.sort(-similarity, axis=1)[:, :k].mean(axis=1)
    return out


def cache_root() -> str:
    base = os.environ.get("MARCO_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "marco-curation")
    return os.path.join(base, "decontamination")


@dataclass
class IndexSettings:
    benchmarks: List[BenchmarkConfig]
    word_n: int
    char_n: int
    max_items_per_ngram: int
    encoder: Optional[dict] = None      # asdict(EncoderConfig) of the cross-lingual check; None = no vectors

    def digest(self) -> str:
        data = json.dumps({"version": INDEX_VERSION, "settings": asdict(self),
                           "files": named_files(asdict(self))}, sort_keys=True, default=str)
        return hashlib.sha256(data.encode()).hexdigest()[:20]


class BenchmarkIndex:
    """The arrays of one index folder, memory-mapped."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        for name in _ARRAYS:
            setattr(self, name, np.load(os.path.join(folder, f"{name}.npy"), mmap_mode="r"))
        with open(os.path.join(folder, "items.json"), encoding="utf-8") as handle:
            meta = json.load(handle)
        self.benchmarks: List[str] = meta["benchmarks"]
        self.groups: List[str] = meta["groups"]
        self.langs: List[Optional[str]] = meta["langs"]
        self.summary: Dict = meta["summary"]
        self.bitmap_bits = meta["bitmap_bits"]
        self.vectors = None
        if os.path.exists(os.path.join(folder, "vectors.npy")):
            for name in _VECTOR_ARRAYS:
                setattr(self, name, np.load(os.path.join(folder, f"{name}.npy"), mmap_mode="r"))

    def lookup(self, keys: np.ndarray):
        """(index rows matching any of ``keys``) as an int array."""
        position = bitmap_positions(keys, int(self.bitmap_bits))
        keys = keys[(self.bitmap[position >> 3] >> (position & 7).astype(np.uint8)) & 1 == 1]
        left = np.searchsorted(self.keys, keys, "left")
        right = np.searchsorted(self.keys, keys, "right")
        hit = right > left
        if not hit.any():
            return np.zeros(0, dtype=np.int64)
        left, right = left[hit], right[hit]
        counts = right - left
        return np.repeat(left - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())


def _build(settings: IndexSettings, folder: str) -> None:
    keys, rows, starts, spans = [], [], [], []
    item_units, item_benchmark, groups, langs = [], [], [], []
    texts_per_row: List[List[str]] = []
    for number, benchmark in enumerate(settings.benchmarks):
        for item in read_items(benchmark):
            row = len(item_units)
            offset = 0
            for segment in item.segments:
                hashes, is_char = unit_hashes(segment)
                k, p, n = ngram_keys(hashes, is_char, settings.word_n, settings.char_n)
                keys.append(k)
                rows.append(np.full(len(k), row, dtype=np.int32))
                starts.append((p + offset).astype(np.int32))
                spans.append(n.astype(np.uint8))
                offset += len(hashes)
            item_units.append(offset)
            item_benchmark.append(number)
            groups.append(f"{benchmark.name}\t{item.group}")
            langs.append(item.lang)
            texts_per_row.append(item.segments)
    keys_all = np.concatenate(keys) if keys else np.zeros(0, dtype=np.uint64)
    rows_all = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int32)
    starts_all = np.concatenate(starts) if starts else np.zeros(0, dtype=np.int32)
    spans_all = np.concatenate(spans) if spans else np.zeros(0, dtype=np.uint8)
    # Leave out n-grams shared by too many item groups.
    group_ids = np.unique(np.array(groups, dtype=object), return_inverse=True)[1].astype(np.int64)
    order = np.lexsort((group_ids[rows_all] if len(rows_all) else rows_all, keys_all))
    keys_all, rows_all, starts_all, spans_all = keys_all[order], rows_all[order], starts_all[order], spans_all[order]
    dropped_ngrams = 0
    if len(keys_all):
        pair = np.stack([keys_all, group_ids[rows_all].astype(np.uint64)], axis=1)
        first = np.ones(len(keys_all), dtype=bool)
        first[1:] = np.any(pair[1:] != pair[:-1], axis=1)
        key_start = np.ones(len(keys_all), dtype=bool)
        key_start[1:] = keys_all[1:] != keys_all[:-1]
        groups_per_key = np.add.reduceat(first.astype(np.int64), np.flatnonzero(key_start))
        keep_key = groups_per_key <= settings.max_items_per_ngram
        keep = np.repeat(keep_key, np.diff(np.append(np.flatnonzero(key_start), len(keys_all))))
        dropped_ngrams = int((~keep).sum())
        keys_all, rows_all, starts_all, spans_all = keys_all[keep], rows_all[keep], starts_all[keep], spans_all[keep]
    bits = bitmap_bits(len(keys_all))
    bitmap = np.zeros(2 ** bits // 8, dtype=np.uint8)
    position = bitmap_positions(keys_all, bits)
    np.bitwise_or.at(bitmap, position >> 3, (1 << (position & 7)).astype(np.uint8))
    arrays = {"bitmap": bitmap, "keys": keys_all, "rows": rows_all, "starts": starts_all, "spans": spans_all,
              "item_units": np.array(item_units, dtype=np.int32), "item_benchmark": np.array(item_benchmark, dtype=np.int16)}
    summary = {"item_versions": len(item_units), "item_groups": len(set(groups)), "units": int(sum(item_units)),
               "ngrams": int(len(keys_all)), "ngrams_left_out": dropped_ngrams,
               "per_benchmark": {b.name: int(sum(1 for x in item_benchmark if x == i)) for i, b in enumerate(settings.benchmarks)}}
    if settings.encoder is not None:
        arrays.update(_vectors(settings, groups, langs, texts_per_row))
        summary["sentences_embedded"] = int(len(arrays["vectors"]))
    for name, array in arrays.items():
        np.save(os.path.join(folder, f"{name}.npy"), array)
    summary["bytes"] = int(sum(a.nbytes for a in arrays.values()))
    summary["bytes_per_unit"] = round(sum(arrays[n].nbytes for n in ("keys", "rows", "starts", "spans")) / max(1, summary["units"]), 2)
    write_json(os.path.join(folder, "items.json"), {"bitmap_bits": bits, "benchmarks": [b.name for b in settings.benchmarks],
                                                    "groups": groups, "langs": langs, "summary": summary}, indent=None)


def _vectors(settings: IndexSettings, groups, langs, texts_per_row) -> Dict[str, np.ndarray]:
    """One vector per benchmark sentence: the normalized mean of the sentence's versions in the encoder's
    languages (where a version splits into another number of sentences, the reference version alone)."""
    from operators.embeddings.encoders import EncoderConfig, load_encoder, unit_rows
    from operators.decontamination.ngrams import UNIT

    encoder = load_encoder(EncoderConfig(**settings.encoder))
    versions: Dict[str, List[int]] = {}
    for row, (group, lang) in enumerate(zip(groups, langs)):
        if encoder.covers(lang):
            versions.setdefault(group, []).append(row)
    split = {row: [seg[a:b] for seg in texts_per_row[row] for a, b in item_pieces(seg)]
             for rows in versions.values() for row in rows}
    embedded: Dict[int, np.ndarray] = {}
    for lang in sorted({langs[r] for r in split}):
        rows = [r for r in split if langs[r] == lang]
        flat = encoder.encode([s for r in rows for s in split[r]], lang)
        at = 0
        for r in rows:
            embedded[r] = flat[at:at + len(split[r])]
            at += len(split[r])
    vectors, vector_rows, vector_units, vector_starts = [], [], [], []
    for group in sorted(versions, key=lambda g: versions[g][0]):
        rows = versions[group]
        reference = next((r for r in rows if langs[r] == "en"), rows[0])
        same = [embedded[r] for r in rows if len(split[r]) == len(split[reference])]
        if not split[reference]:
            continue
        vectors.append(unit_rows(np.mean(same, axis=0)))
        vector_rows.extend([reference] * len(split[reference]))
        counts = [len(UNIT.findall(sentence)) for sentence in split[reference]]
        vector_starts.extend(np.cumsum([0] + counts[:-1]).tolist())
        vector_units.extend(counts)
    dim = vectors[0].shape[1] if vectors else 0
    vectors = np.concatenate(vectors) if vectors else np.zeros((0, dim), dtype=np.float32)
    return {"vectors": vectors, "vector_hub": hubness(vectors),
            "vector_rows": np.array(vector_rows, dtype=np.int32), "vector_units": np.array(vector_units, dtype=np.int32),
            "vector_starts": np.array(vector_starts, dtype=np.int32)}


def prepare_index(settings: IndexSettings) -> str:
    """The index folder for ``settings``, built if this node has none yet."""
    folder = os.path.join(cache_root(), settings.digest())
    if os.path.exists(os.path.join(folder, "items.json")):
        return folder
    os.makedirs(cache_root(), exist_ok=True)
    building = tempfile.mkdtemp(prefix=".building-", dir=cache_root())
    try:
        _build(settings, building)
        try:
            os.rename(building, folder)
        except OSError:
            if not os.path.exists(os.path.join(folder, "items.json")):   # not another process's finished copy
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return folder


def open_index(settings: IndexSettings) -> BenchmarkIndex:
    """The memory-mapped index, once per process."""
    folder = prepare_index(settings)      # outside the cache's lock: building may load an encoder through it
    return cached(("benchmark-index", folder), lambda: BenchmarkIndex(folder))


__all__ = ["BenchmarkIndex", "IndexSettings", "prepare_index", "open_index", "cache_root"]
