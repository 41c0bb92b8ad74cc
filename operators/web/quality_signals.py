"""Quality signals of one document, the numbers the heuristic quality filter decides on.

Paper §3.1.1 names three families; every signal below is stored as a ``q_*`` column so thresholds can
be re-derived from the output later (``pipelines/derive_thresholds.py``).

1. Word blocklists and garbled text
   * ``blocklist_ratio``: blocklist entries found, per word.
   * ``replacement_ratio``: U+FFFD (undecodable bytes) per non-space character.
   * ``mojibake_per_kchar``: mojibake sequences (UTF-8 read as Latin-1/cp1252 and the like) per 1,000
     characters, counted by ftfy's ``badness`` detector.
   * ``control_ratio``: control and private-use characters (not tab/newline) per non-space character.
2. Length, symbols, stop words, lines
   * ``word_count``, ``mean_word_length`` (characters per word, as segmented by :mod:`common.words`).
   * ``symbol_ratio`` (punctuation and symbols), ``digit_ratio``: per non-space character.
   * ``alpha_word_ratio``: words with letters, i.e. not numbers (Gopher's 80 % rule; ICU's word
     status tells them apart).
   * ``stop_word_ratio``: words (lowercased) on the language's stop-word list.
   * ``short_line_ratio``: non-empty lines with at most ``SHORT_LINE_WORDS`` words (FineWeb counts
     lines of at most 30 characters, about five English words; counting words keeps the rule
     meaningful for Chinese, where five words are about eight characters).
   * ``no_terminal_punct_ratio``: non-empty lines that do not end in terminal punctuation of any script
     (. ! ? … 。 ！ ？ ؟ । ॥ ။ ። and Greek ;), closing quotes and brackets allowed after it.
   * ``consecutive_dup_line_ratio``: non-empty lines equal to the line before.
3. Repetition (Gopher, Rae et al. 2021, Table A1; datatrove's ``GopherRepetitionFilter``)
   * ``dup_line_frac`` / ``dup_para_frac``: lines / paragraphs that repeat an earlier one;
     ``dup_line_char_frac`` / ``dup_para_char_frac``: their share of the characters.
   * ``top_{2,3,4}gram_frac``: characters covered by the most frequent word n-gram (if it repeats),
     over all word characters.
   * ``dup_{5..10}gram_frac``: word characters covered by an n-gram occurrence that repeats an earlier
     one. Word characters (not raw characters) are the denominator so scripts without spaces compare.

N-gram repetition is computed with numpy on integer word ids (a polynomial hash of each n-gram, then
``np.unique``), not with Python dictionaries of strings as datatrove does.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Dict, FrozenSet, List, Optional, Sequence, Tuple

import numpy as np
from ftfy.badness import badness

from common.words import is_letter_word, segment, words

SHORT_LINE_WORDS = 5
TOP_NGRAMS = (2, 3, 4)
DUP_NGRAMS = (5, 6, 7, 8, 9, 10)

SIGNALS: tuple = (
    "word_count", "mean_word_length", "symbol_ratio", "digit_ratio", "alpha_word_ratio",
    "stop_word_ratio", "blocklist_ratio", "short_line_ratio", "no_terminal_punct_ratio",
    "consecutive_dup_line_ratio", "dup_line_frac", "dup_line_char_frac", "dup_para_frac",
    "dup_para_char_frac",
    *(f"top_{n}gram_frac" for n in TOP_NGRAMS),
    *(f"dup_{n}gram_frac" for n in DUP_NGRAMS),
    "replacement_ratio", "mojibake_per_kchar", "control_ratio",
)

# Sentence-final punctuation across the target scripts: Latin/Cyrillic/Greek/Hebrew (. ! ? …), CJK
# full-width (。！？), Arabic/Urdu (؟ ۔ and the Arabic full stop), Devanagari/Bengali danda (। ॥), Greek
# question mark (; and U+037E), Thai has none in running text so Thai lines rarely end in one (the
# derived threshold absorbs that), and Burmese/Ethiopic for completeness.
TERMINAL_PUNCTUATION = frozenset(".!?…。！？｡؟۔।॥;;։።။‼⁇⁈⁉")
# Characters allowed after the terminal mark: closing quotes, brackets and emoji-free trailing marks.
_CLOSERS = "\"'”’»›)]}」』】〕）〉》"

# Character classes of the lookup table.
_SPACE, _LETTER, _MARK, _DIGIT, _NUMBER, _PUNCT, _SYMBOL, _CONTROL, _REPLACEMENT, _FORMAT = range(10)
_CATEGORY_CLASS = {
    "Lu": _LETTER, "Ll": _LETTER, "Lt": _LETTER, "Lm": _LETTER, "Lo": _LETTER,
    "Mn": _MARK, "Mc": _MARK, "Me": _MARK,
    "Nd": _DIGIT, "Nl": _NUMBER, "No": _NUMBER,
    "Pc": _PUNCT, "Pd": _PUNCT, "Ps": _PUNCT, "Pe": _PUNCT, "Pi": _PUNCT, "Pf": _PUNCT, "Po": _PUNCT,
    "Sm": _SYMBOL, "Sc": _SYMBOL, "Sk": _SYMBOL, "So": _SYMBOL,
    "Zs": _SPACE, "Zl": _SPACE, "Zp": _SPACE,
    "Cc": _CONTROL, "Co": _CONTROL, "Cs": _CONTROL, "Cn": _SYMBOL, "Cf": _FORMAT,
}
_class_table: Optional[np.ndarray] = None


def _char_classes() -> np.ndarray:
    """Class of every code point (built once per process, ~0.5 s)."""
    global _class_table
    if _class_table is None:
        table = np.fromiter(
            (_CATEGORY_CLASS[unicodedata.category(chr(cp))] for cp in range(0x110000)),
            dtype=np.uint8, count=0x110000,
        )
        for cp in (0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x85):
            table[cp] = _SPACE
        table[0xFFFD] = _REPLACEMENT
        _class_table = table
    return _class_table


@dataclass(frozen=True)
class Blocklist:
    """Blocklist entries as word sequences, matched against a document's (lowercased) words.

    Matching words rather than substrings matters for scripts without spaces: the LDNOOBW Chinese
    list holds single characters (性, 乳) that occur inside ordinary words, and Japanese グロ would
    match inside グローバル.
    """

    by_first_word: Dict[str, Tuple[Tuple[str, ...], ...]]

    @classmethod
    def from_entries(cls, entries: Sequence[str], lang: str) -> Optional["Blocklist"]:
        grouped: Dict[str, set] = {}
        for entry in entries:
            tokens = tuple(w.lower() for w in words(entry.strip(), lang))
            if tokens:
                grouped.setdefault(tokens[0], set()).add(tokens)
        if not grouped:
            return None
        return cls({first: tuple(sorted(seqs, key=len, reverse=True)) for first, seqs in grouped.items()})

    def count(self, lowered: Sequence[str]) -> int:
        hits = 0
        for i, word in enumerate(lowered):
            for sequence in self.by_first_word.get(word, ()):
                if len(sequence) == 1 or tuple(lowered[i:i + len(sequence)]) == sequence:
                    hits += 1
                    break
        return hits


@dataclass(frozen=True)
class LanguageLists:
    """Word lists of one language: stop words and a blocklist (or None)."""

    stop_words: FrozenSet[str]
    blocklist: Optional[Blocklist]


# C1 control characters that stand for Windows-1252 punctuation (U+0092 for ’ and the like): text
# encoded as cp1252 and decoded as Latin-1. The words are intact and the damage is one character per
# quote, so these are neither counted as control characters nor as mojibake on their own.
_C1_AS_CP1252 = {cp: bytes([cp]).decode("cp1252") for cp in range(0x80, 0xA0) if cp not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)}
_C1_PUNCT = re.compile("[" + "".join(chr(cp) for cp in _C1_AS_CP1252) + "]")
# UTF-8 read as cp1252/Latin-1: a lead byte shown as Â/Ã (2-byte sequences of Latin-1 letters) or as
# â€ (3-byte sequences of general punctuation: quotes, dashes) followed by a continuation byte.
_CONTINUATION = "\u0080-\u00bf€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
_MOJIBAKE = re.compile(f"[ÂÃ][{_CONTINUATION}]|â€[{_CONTINUATION}]?")
# A UTF-8 continuation byte never follows an ASCII byte, so a C1 character at the start of the text or
# after ASCII (a space, a Latin letter) is a stray cp1252 byte, whatever code page showed the lead bytes.
# Translated, a stray 0x83 would become "ƒ" and ftfy would count "ƒ”" as mojibake (NTREX-128
# pol_Latn line 1422: 'słowa: \x83”Tak'), so such strays are removed before the detector instead.
_STRAY_C1 = re.compile(r"(?<![^\x00-\x7f])[\x80-\x9f]+")


def class_counts(text: str) -> np.ndarray:
    """How many characters of ``text`` fall in each character class (one vectorized pass)."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    return np.bincount(_char_classes()[codes], minlength=10) if codes.size else np.zeros(10, dtype=np.int64)


def char_class_counts(text: str) -> Tuple[int, int, int]:
    """(punctuation + symbol characters, digits, visible characters (at least 1)) of ``text``."""
    classes = class_counts(text)
    visible = max(int(classes.sum() - classes[_SPACE]), 1)
    return int(classes[_PUNCT] + classes[_SYMBOL]), int(classes[_DIGIT]), visible


def classes_c1_punct(text: str) -> int:
    return len(_C1_PUNCT.findall(text)) if not text.isascii() else 0


def mojibake_count(text: str) -> int:
    """Mojibake sequences: ftfy's badness detector plus the UTF-8-as-cp1252 patterns it lets pass.

    C1 characters inside a UTF-8-as-Latin-1 sequence are read as their cp1252 glyphs (so "â\\x80\\x93"
    is seen as "â€“"); stray ones, which cannot be part of such a sequence, are not mojibake on their own.
    """
    repaired = _STRAY_C1.sub("", text).translate(_C1_AS_CP1252)
    return badness(repaired) + len(_MOJIBAKE.findall(repaired))


def _dup_fractions(parts: List[str]) -> tuple:
    """(repeated parts / parts, characters of repeated parts / characters of all parts)."""
    seen = set()
    dup_count = dup_chars = total_chars = 0
    for part in parts:
        total_chars += len(part)
        if part in seen:
            dup_count += 1
            dup_chars += len(part)
        else:
            seen.add(part)
    if not parts:
        return 0.0, 0.0
    return dup_count / len(parts), (dup_chars / total_chars if total_chars else 0.0)


def _ngram_keys(ids: np.ndarray, n: int) -> np.ndarray:
    """A 64-bit polynomial hash of every word n-gram (wrapping arithmetic)."""
    length = ids.shape[0] - n + 1
    keys = np.zeros(length, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            keys = keys * np.uint64(1_000_003) + ids[k:k + length]
    return keys


def _repetition(ids: np.ndarray, lengths: np.ndarray, out: Dict[str, float]) -> None:
    total = float(lengths.sum())
    count = ids.shape[0]
    cumulative = np.concatenate(([0], np.cumsum(lengths)))
    for n in TOP_NGRAMS:
        value = 0.0
        if count >= n and total:
            keys = _ngram_keys(ids, n)
            _, first, counts = np.unique(keys, return_index=True, return_counts=True)
            top_count = int(counts.max())
            if top_count > 1:
                # Ties between equally frequent n-grams: the longest one counts (deterministic).
                starts = first[counts == top_count]
                value = top_count * float((cumulative[starts + n] - cumulative[starts]).max()) / total
        out[f"top_{n}gram_frac"] = min(value, 1.0)
    for n in DUP_NGRAMS:
        value = 0.0
        if count >= n and total:
            keys = _ngram_keys(ids, n)
            _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
            repeats = np.nonzero(first[inverse] != np.arange(keys.shape[0]))[0]
            if repeats.size:
                cover = np.zeros(count + 1, dtype=np.int32)
                np.add.at(cover, repeats, 1)
                np.add.at(cover, repeats + n, -1)
                covered = np.cumsum(cover[:-1]) > 0
                value = float(lengths[covered].sum()) / total
        out[f"dup_{n}gram_frac"] = value


def _ends_with_terminal(line: str) -> bool:
    line = line.rstrip(_CLOSERS + " \t")
    return bool(line) and line[-1] in TERMINAL_PUNCTUATION


def compute_signals(text: str, lang: str, lists: LanguageLists) -> Dict[str, float]:
    """Every signal of :data:`SIGNALS` for one document."""
    out: Dict[str, float] = {}
    # Characters: one vectorized pass through the class table.
    classes = class_counts(text)
    visible = max(int(classes.sum() - classes[_SPACE]), 1)
    out["symbol_ratio"] = float(classes[_PUNCT] + classes[_SYMBOL]) / visible
    out["digit_ratio"] = float(classes[_DIGIT]) / visible
    out["replacement_ratio"] = float(classes[_REPLACEMENT]) / visible
    out["control_ratio"] = float(classes[_CONTROL] - classes_c1_punct(text)) / visible
    out["mojibake_per_kchar"] = 1000.0 * mojibake_count(text) / max(len(text), 1) if not text.isascii() else 0.0

    # Words.
    spans, statuses = segment(text, lang)
    word_list = [text[s:e] for s, e in spans]
    lowered = [w.lower() for w in word_list]
    n_words = len(word_list)
    lengths = np.fromiter((e - s for s, e in spans), dtype=np.int64, count=n_words)
    out["word_count"] = float(n_words)
    out["mean_word_length"] = float(lengths.mean()) if n_words else 0.0
    out["alpha_word_ratio"] = (sum(1 for s in statuses if is_letter_word(s)) / n_words) if n_words else 0.0
    out["stop_word_ratio"] = (sum(1 for w in lowered if w in lists.stop_words) / n_words) if n_words else 0.0
    hits = lists.blocklist.count(lowered) if lists.blocklist is not None else 0
    out["blocklist_ratio"] = hits / n_words if n_words else 0.0

    # Lines and paragraphs.
    lines = [line.strip() for line in text.split("\n")]
    non_empty = [line for line in lines if line]
    if non_empty:
        line_starts = np.cumsum([0] + [len(line) + 1 for line in text.split("\n")])
        words_per_line = np.bincount(np.searchsorted(line_starts, [s for s, _ in spans], side="right") - 1,
                                     minlength=len(line_starts) - 1)
        counts = [int(c) for c, line in zip(words_per_line, lines) if line]
        out["short_line_ratio"] = sum(1 for c in counts if c <= SHORT_LINE_WORDS) / len(non_empty)
        out["no_terminal_punct_ratio"] = sum(1 for line in non_empty if not _ends_with_terminal(line)) / len(non_empty)
        out["consecutive_dup_line_ratio"] = sum(1 for a, b in zip(non_empty, non_empty[1:]) if a == b) / len(non_empty)
    else:
        out["short_line_ratio"] = out["no_terminal_punct_ratio"] = out["consecutive_dup_line_ratio"] = 0.0
    out["dup_line_frac"], out["dup_line_char_frac"] = _dup_fractions(non_empty)
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    out["dup_para_frac"], out["dup_para_char_frac"] = _dup_fractions(paragraphs)

    # Repetition of word n-grams.
    vocabulary: Dict[str, int] = {}
    ids = np.fromiter((vocabulary.setdefault(w, len(vocabulary) + 1) for w in word_list), dtype=np.uint64, count=n_words)
    _repetition(ids, lengths, out)
    return out


__all__ = ["SIGNALS", "LanguageLists", "Blocklist", "compute_signals", "class_counts", "char_class_counts", "TERMINAL_PUNCTUATION", "SHORT_LINE_WORDS"]
