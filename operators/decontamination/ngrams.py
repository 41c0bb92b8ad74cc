"""Units and n-gram keys of benchmark overlap.

A text becomes a sequence of units: a word (a run of letters, marks and digits) in spaced scripts, a single
character in the scripts written without spaces (Han, kana, Thai, Lao, Khmer, Myanmar, Tibetan) and a Hangul
syllable (Korean writes spaces, but its words are long agglutinated runs: a sentence is about 10 of them, so one
edited word left no 5-word n-gram in 4 % of FLORES sentences; as syllables every one of them stays covered). Each unit
is NFKC-normalized and case-folded, so case, width and punctuation edits change no unit. The unit is chosen
by script, not by a language label, so a mislabelled document is cut the same way as its benchmark item.

An n-gram starts at every unit and spans ``word_n`` units when it starts on a word, ``char_n`` when it
starts on a character (a window may mix both: a Chinese sentence with a Latin name). Its key is a 64-bit
polynomial hash of the units' XXH3-64 hashes. The same function cuts benchmark items and documents, so an
equal key means equal normalized text (up to 2^-64 collisions).

Choice of n (paper §3.1.3 names no value): GPT-3 used 13 words, Llama 2's contamination study 8-13 tokens,
both with "any shared n-gram" as the test. We test how much of one item a text covers (``filter.py``), which is
what makes a short n safe: on FLORES-200 dev against NTREX-128 and Leipzig documents, no clean document covers
half of any item at n = 5 to 13, while a sentence with one or two edited words stays more than half covered
in 97 % of cases at n = 5, 88 % at 8 and 61 % at 13 (a short sentence has no 13-gram left after one edit). So
5 words, and 8 characters for unspaced scripts and Hangul (a Chinese or Japanese word is about 1.5 characters, a
Korean one about 3 syllables).
"""

from __future__ import annotations

import unicodedata
from typing import List, Tuple

import numpy as np
import regex
import xxhash

WORD_N = 5
CHAR_N = 8

_CHAR_SCRIPTS = r"\p{Han}\p{Hangul}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\p{Tibetan}"
# One unspaced-script character (with its combining marks), or a run of other letters, marks and digits. The
# two groups say which: (character, "") or ("", word).
UNIT = regex.compile(rf"([{_CHAR_SCRIPTS}]\p{{M}}*)|([[\p{{L}}\p{{N}}\p{{M}}]--[{_CHAR_SCRIPTS}]]+)", regex.V1)
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


def normalized(text: str) -> str:
    """NFKC and case folding, as every unit is compared."""
    return unicodedata.normalize("NFKC", text).casefold()


def unit_hashes(text: str) -> Tuple[np.ndarray, np.ndarray]:
    """(hashes uint64, is_char bool) of the text's units: the fast path, without their offsets."""
    found = UNIT.findall(normalized(text))
    hashes = np.array([xxhash.xxh3_64_intdigest((c or w).encode()) for c, w in found], dtype=np.uint64)
    is_char = np.array([bool(c) for c, _ in found], dtype=bool)
    return hashes, is_char


def units(text: str) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(hashes uint64, is_char bool, start, end character offsets in ``text``) of the text's units; each unit is
    normalized on its own, so the offsets are the original text's (the same hashes as :func:`unit_hashes`
    wherever normalization keeps unit boundaries, which NFKC and case folding do for letters and digits)."""
    matches = list(UNIT.finditer(text))
    hashes = np.array([xxhash.xxh3_64_intdigest(normalized(m.group()).encode()) for m in matches], dtype=np.uint64)
    is_char = np.array([m.group(1) is not None for m in matches], dtype=bool)
    starts = np.array([m.start() for m in matches], dtype=np.int64)
    ends = np.array([m.end() for m in matches], dtype=np.int64)
    return hashes, is_char, starts, ends


def _rolling(hashes: np.ndarray, n: int) -> np.ndarray:
    """Polynomial hash of every window of ``n`` consecutive units (len(hashes) - n + 1 of them)."""
    count = len(hashes) - n + 1
    if count <= 0:
        return np.zeros(0, dtype=np.uint64)
    key = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for offset in range(n):
            key = key * _MULTIPLIER + hashes[offset:offset + count]
    return key


def ngram_keys(hashes: np.ndarray, is_char: np.ndarray, word_n: int = WORD_N,
               char_n: int = CHAR_N) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(keys, first unit, units spanned) of every n-gram of one segment of units."""
    positions: List[np.ndarray] = []
    keys: List[np.ndarray] = []
    lengths: List[np.ndarray] = []
    for n, kind in ((word_n, False), (char_n, True)):
        rolled = _rolling(hashes, n)
        starts = np.flatnonzero(is_char[:len(rolled)] == kind)
        # The key also says which n it was cut with, so a word window never equals a character window.
        keys.append(rolled[starts] ^ np.uint64(n))
        positions.append(starts)
        lengths.append(np.full(len(starts), n, dtype=np.int64))
    return np.concatenate(keys), np.concatenate(positions), np.concatenate(lengths)


__all__ = ["WORD_N", "CHAR_N", "UNIT", "units", "unit_hashes", "normalized", "ngram_keys"]
