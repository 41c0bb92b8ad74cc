"""MinHash signatures and LSH band keys of documents (paper §3.1.1, after RefineWeb and datatrove).

* **Shingles**: word 5-grams of the normalized text. Normalization is the one the KenLM filter uses
  (:func:`common.lm_text.normalize`: lowercase, Latin/Greek accents removed, digits -> 0, ASCII
  punctuation); words come from the shared ICU segmenter (:func:`common.words.words`), so Chinese,
  Japanese and Thai are cut into dictionary words, not into one "word" per line. Punctuation and
  spaces are not words, so "Hello, world" and "hello world" shingle alike. A document with fewer
  than ``ngram`` words is one shingle of all its words; one without words has no signature.
* **Hashing**: each shingle (its words joined by a space, UTF-8) is hashed to 64 bits with xxHash
  (XXH3-64); datatrove's default is xxhash too.
* **Permutations**: ``(a * h + b) mod (2^61 - 1)``, then the low 32 bits kept, with ``a`` and ``b``
  drawn exactly as datasketch draws them (``numpy.random.RandomState(seed)``, ``a`` in
  ``[1, 2^61-1)``, ``b`` in ``[0, 2^61-1)``, one pair per permutation). The products are computed in
  unsigned 64-bit arithmetic, which wraps around as datasketch's and datatrove's numpy code does, so
  with the same ``a``, ``b`` and hash function our signatures equal datasketch's ``MinHash``
  (``scheme="legacy"``) bit for bit. Values are stored as uint32: half the memory of uint64 for the
  same information.
* **Compiled** (``native/minhash_kernel``, built by ``make setup``): each document's words are joined by single
  spaces into one UTF-8 buffer per batch, so every shingle is a byte span of it; the kernel hashes the spans
  with the same XXH3 and keeps each permutation's minimum in one loop, with no Python object per shingle.
* **Python and numpy** (where the kernel is not installed, and the reference it is tested against): the
  shingle hashes of every document of a batch are stacked, permuted in blocks of rows, and reduced per
  document with ``numpy.minimum.reduceat``.
* **Banding**: ``bands x rows`` (default 14 x 8 = 112 permutations, datatrove's and RefineWeb's
  choice, threshold about (1/14)^(1/8) = 0.72); :func:`lsh_parameters` picks them for another target
  threshold. A band's key is a 64-bit mix of its ``rows`` values; two documents are candidates when
  they share one band key.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import List, Optional, Sequence, Tuple

import numpy as np
import xxhash

from common.config_check import ConfigError
from common.lm_text import normalize
from common.words import words

MERSENNE_PRIME = np.uint64((1 << 61) - 1)
MAX_HASH = np.uint64((1 << 32) - 1)
# (shingle x permutation) products computed at once: temporary arrays of ~2 MB stay in cache.
_BLOCK_ELEMENTS = 1 << 18


@dataclass
class MinHashConfig:
    # Word n-grams per shingle (RefineWeb and datatrove: 5).
    ngram: int = 5
    # Bands x rows = permutations. Default 14 x 8 = 112 (datatrove, RefineWeb): threshold ~0.72.
    bands: int = 14
    rows: int = 8
    # Seed of the permutation parameters (datasketch's default seed is 1).
    seed: int = 1
    # Keep digits as they are instead of cc_net's digits -> 0 (instruction data: questions that differ
    # only in their numbers are different questions).
    keep_digits: bool = False
    # Instead of bands/rows: a target Jaccard threshold and a number of permutations; the bands and
    # rows that minimise false positives + false negatives around it are used (lsh_parameters).
    threshold: Optional[float] = None
    num_perm: Optional[int] = None

    def validate(self) -> None:
        if self.ngram < 1:
            raise ConfigError("ngram: must be at least 1")
        if self.threshold is not None:
            if not 0.0 < self.threshold < 1.0:
                raise ConfigError("threshold: must be between 0 and 1")
            self.bands, self.rows = lsh_parameters(self.threshold, self.num_perm or self.bands * self.rows)
        elif self.num_perm is not None and self.num_perm != self.bands * self.rows:
            raise ConfigError("num_perm: give threshold with it, or bands x rows equal to it")
        if self.bands < 1 or self.rows < 1:
            raise ConfigError("bands, rows: must be at least 1")

    @property
    def permutations(self) -> int:
        return self.bands * self.rows

    @property
    def approximate_threshold(self) -> float:
        return (1.0 / self.bands) ** (1.0 / self.rows)


def candidate_probability(jaccard: float, bands: int, rows: int) -> float:
    """Probability that two documents of this Jaccard similarity share at least one band."""
    return 1.0 - (1.0 - jaccard ** rows) ** bands


def lsh_parameters(threshold: float, num_perm: int) -> Tuple[int, int]:
    """(bands, rows) with bands * rows <= num_perm minimising the false-positive area below the
    threshold plus the false-negative area above it (datasketch's ``_optimal_param``, equal weights)."""
    grid = np.linspace(0.0, 1.0, 1001)
    best, best_error = (1, num_perm), float("inf")
    for bands in range(1, num_perm + 1):
        rows = num_perm // bands
        probability = 1.0 - (1.0 - grid ** rows) ** bands
        below, above = grid <= threshold, grid >= threshold
        error = np.trapezoid(probability[below], grid[below]) + np.trapezoid(1.0 - probability[above], grid[above])
        if error < best_error - 1e-12:
            best, best_error = (bands, rows), error
    return best


@lru_cache(maxsize=16)
def permutation_parameters(num_perm: int, seed: int) -> Tuple[np.ndarray, np.ndarray]:
    """``(a, b)``, uint64 arrays of ``num_perm``, drawn as datasketch draws them."""
    generator = np.random.RandomState(seed)
    pairs = [(generator.randint(1, MERSENNE_PRIME, dtype=np.uint64),
              generator.randint(0, MERSENNE_PRIME, dtype=np.uint64)) for _ in range(num_perm)]
    a, b = np.array(pairs, dtype=np.uint64).T
    return np.ascontiguousarray(a), np.ascontiguousarray(b)


def _shingle_words(text: str, lang: str, keep_digits: bool) -> List[str]:
    """The words shingles are made of: ICU words of the normalized text."""
    return words(normalize(text or "", keep_digits=keep_digits), lang or "")


def _ngrams(text: str, lang: str, ngram: int, keep_digits: bool = False) -> List[str]:
    """Every word n-gram of the normalized text, in order, repeats included."""
    tokens = _shingle_words(text, lang, keep_digits)
    if len(tokens) < ngram:
        return [" ".join(tokens)] if tokens else []
    return list(map(" ".join, zip(*(tokens[k:] for k in range(ngram)))))


def shingles(text: str, lang: str, ngram: int = 5) -> List[str]:
    """The document's distinct word n-grams (words joined by a space), in first-seen order."""
    return list(dict.fromkeys(_ngrams(text, lang, ngram)))


def shingle_hash(shingle: str) -> int:
    """The 64-bit hash of one shingle (the hash function to give datasketch for equal signatures)."""
    return xxhash.xxh3_64_intdigest(shingle.encode("utf-8"))


def shingle_hashes(texts: Sequence[str], langs: Sequence[str], ngram: int,
                   keep_digits: bool = False) -> Tuple[np.ndarray, np.ndarray]:
    """``(uint64 hashes of every document's n-grams, concatenated; n-gram count per document)``.

    Repeated n-grams are hashed again rather than removed first: the minimum is the same.
    """
    counts = np.zeros(len(texts), dtype=np.int64)
    hashes: List[int] = []
    for i, (text, lang) in enumerate(zip(texts, langs)):
        doc_hashes = list(map(xxhash.xxh3_64_intdigest, map(str.encode, _ngrams(text, lang, ngram, keep_digits))))
        counts[i] = len(doc_hashes)
        hashes.extend(doc_hashes)
    return np.array(hashes, dtype=np.uint64), counts


def signatures(texts: Sequence[str], langs: Sequence[str], config: MinHashConfig,
               compiled: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """``(signatures uint32 [docs x permutations], has_signature bool [docs])`` of a batch: through the compiled
    kernel where it is installed (``compiled``), else in Python and numpy; the two agree bit for bit."""
    if compiled and COMPILED_KERNEL is not None:
        return _compiled_signatures(texts, langs, config)
    return signatures_from_hashes(*shingle_hashes(texts, langs, config.ngram, config.keep_digits), config)


def _compiled_signatures(texts: Sequence[str], langs: Sequence[str],
                         config: MinHashConfig) -> Tuple[np.ndarray, np.ndarray]:
    """Each document's words joined by single spaces, one bytes object for the batch: a shingle is then a byte
    span of it, hashed and permuted in C without a Python string per shingle. A document with a word that
    holds a space itself (not one ICU gives) would split differently there: it takes the Python path."""
    pieces: List[bytes] = []
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    aside: List[int] = []
    end = 0
    for i, (text, lang) in enumerate(zip(texts, langs)):
        tokens = _shingle_words(text, lang, config.keep_digits)
        joined = " ".join(tokens).encode("utf-8")
        if tokens and joined.count(b" ") != len(tokens) - 1:
            aside.append(i)
        else:
            pieces.append(joined)
            end += len(joined)
        offsets[i + 1] = end
    a, b = permutation_parameters(config.permutations, config.seed)
    out = np.full((len(texts), config.permutations), MAX_HASH, dtype=np.uint32)
    counts = np.zeros(len(texts), dtype=np.int64)
    COMPILED_KERNEL.signatures(b"".join(pieces), offsets, config.ngram, a, b, out, counts)
    if aside:
        sigs, present = signatures_from_hashes(*shingle_hashes([texts[i] for i in aside], [langs[i] for i in aside],
                                                                config.ngram, config.keep_digits), config)
        out[aside] = sigs
        counts[aside] = present
    return out, counts > 0


def signatures_from_hashes(values: np.ndarray, counts: np.ndarray, config: MinHashConfig) -> Tuple[np.ndarray, np.ndarray]:
    """Signatures from :func:`shingle_hashes`' output (vectorized over the whole batch)."""
    a, b = permutation_parameters(config.permutations, config.seed)
    out = np.full((len(counts), config.permutations), MAX_HASH, dtype=np.uint32)
    present = counts > 0
    if not len(values):
        return out, present
    sizes = counts[present]
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    minima = np.empty((len(sizes), config.permutations), dtype=np.uint64)
    block = max(1, _BLOCK_ELEMENTS // config.permutations)
    first = 0
    while first < len(sizes):  # whole documents per block; a document larger than a block alone
        last, rows = first + 1, int(sizes[first])
        while last < len(sizes) and rows + sizes[last] <= block:
            rows += int(sizes[last])
            last += 1
        lo = int(starts[first])
        if rows <= block:
            minima[first:last] = np.minimum.reduceat(_permute(values[lo:lo + rows], a, b), starts[first:last] - lo, axis=0)
        else:
            minima[first] = np.min([_permute(values[s:min(s + block, lo + rows)], a, b).min(axis=0)
                                    for s in range(lo, lo + rows, block)], axis=0)
        first = last
    out[present] = minima.astype(np.uint32)
    return out, present


def _permute(values: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``((h * a + b) mod 2^64) mod (2^61 - 1)``, low 32 bits: datasketch's legacy permutation.

    The modulo uses the Mersenne identity x = hi * 2^61 + lo = hi + lo (mod 2^61 - 1) instead of
    a 64-bit division: with x < 2^64, hi + lo < 2^61 + 8, so one conditional subtraction finishes it.
    """
    x = values[:, None] * a[None, :]
    x += b[None, :]
    reduced = x & MERSENNE_PRIME
    x >>= np.uint64(61)
    reduced += x
    np.subtract(reduced, MERSENNE_PRIME, out=reduced, where=reduced >= MERSENNE_PRIME)
    reduced &= MAX_HASH
    return reduced


_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _splitmix(x: np.ndarray) -> np.ndarray:
    x = x ^ (x >> np.uint64(30))
    x = x * _MIX_1
    x = x ^ (x >> np.uint64(27))
    x = x * _MIX_2
    return x ^ (x >> np.uint64(31))


def band_keys(sigs: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """uint64 ``[docs x bands]``: a 64-bit mix of each band's ``rows`` values (and the band index)."""
    docs = sigs.shape[0]
    grouped = sigs[:, : bands * rows].astype(np.uint64).reshape(docs, bands, rows)
    with np.errstate(over="ignore"):
        keys = np.broadcast_to(np.arange(bands, dtype=np.uint64) * _GOLDEN, (docs, bands)).copy()
        for r in range(rows):
            keys = _splitmix(keys ^ grouped[:, :, r])
    return keys


def _load_kernel():
    """native/minhash_kernel, when it is installed and built against the installed python-xxhash release."""
    try:
        import minhash_kernel
    except ImportError:
        return None
    return minhash_kernel if minhash_kernel.XXHASH_VERSION == xxhash.VERSION else None


COMPILED_KERNEL = _load_kernel()

__all__ = ["MinHashConfig", "lsh_parameters", "candidate_probability", "permutation_parameters", "shingles",
           "shingle_hash", "shingle_hashes", "signatures", "signatures_from_hashes", "band_keys"]
