"""Text as the KenLM models see it: CCNet-style normalization, then words, one line at a time.

Training (``pipelines/train_kenlm.py``) and scoring (:mod:`operators.web.perplexity`) both go through
:func:`lm_tokens`, so a model never sees text prepared differently from what it was trained on.

Normalization, after cc_net's ``text_normalizer.normalize`` (accent, case, numbers, punctuation):

* lowercase;
* accents removed from Latin and Greek letters (NFD, drop the combining marks). cc_net strips every
  combining mark, which turns Cyrillic й into и and removes the vowel signs of Devanagari, Bengali,
  Thai or Arabic, merging different words; we keep marks on other scripts (``strip_all_accents=True``
  gives cc_net's behaviour, for cc_net's published models);
* every decimal digit (any script) becomes 0;
* Unicode punctuation is mapped to ASCII (，→ , 。→ . «» “” → " and so on) and control characters
  are removed.

Then :func:`common.words.words` segments the line (ICU; dictionaries for zh, ja, th), so one
token is one word in every language. A line with no words is skipped.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Iterator, List

import regex

from common.words import words

# cc_net's punctuation map, extended to the CJK, Arabic and Devanagari marks of our languages.
_PUNCT = {
    "，": ",", "、": ",", "。": ".", "．": ".", "！": "!", "？": "?", "：": ":", "；": ";", "（": "(", "）": ")",
    "「": '"', "」": '"', "『": '"', "』": '"', "【": "[", "】": "]", "《": '"', "》": '"', "〈": '"', "〉": '"',
    "“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‘": "'", "’": "'", "‚": "'", "‹": "'", "›": "'",
    "–": "-", "—": "-", "―": "-", "…": "...", "؟": "?", "،": ",", "؛": ";", "۔": ".", "।": ".", "॥": ".",
    "\u00a0": " ", "\u3000": " ",
}
_ACCENTED_SCRIPTS_END = 0x0400  # Latin and Greek (with their supplements) sit below Cyrillic.
# Control characters other than tab and newline are removed.
_CONTROL = [chr(cp) for cp in list(range(0x00, 0x20)) + list(range(0x7F, 0xA0)) if chr(cp) not in "\t\n"]
_REPLACEMENT = {**_PUNCT, **{ch: "" for ch in _CONTROL}}
# One regex over the characters to replace: most characters need nothing, and the scan stays in C
# (str.translate with a dict looks every character up in Python's dict, several times slower).
_TO_REPLACE = re.compile("[" + "".join(re.escape(ch) for ch in _REPLACEMENT) + "]")


def _replace(match: "re.Match") -> str:
    return _REPLACEMENT[match.group()]


# A run of combining marks (Mn) right after a Latin or Greek character (or after a mark that is itself
# below U+0400): the marks the accent stripping removes. Matching with regexes keeps the work in C.
_LATIN_GREEK_MARKS = regex.compile(r"(?<=[\x00-\u03FF])\p{Mn}+")
_ALL_MARKS = regex.compile(r"\p{Mn}+")
_DIGIT = re.compile(r"\d")  # for str patterns \d is any Unicode decimal digit (category Nd)


def _strip_accents(text: str, every_script: bool = False) -> str:
    if text.isascii():
        return text
    marks = _ALL_MARKS if every_script else _LATIN_GREEK_MARKS
    return unicodedata.normalize("NFC", marks.sub("", unicodedata.normalize("NFD", text)))


def _zero_digits(text: str) -> str:
    return _DIGIT.sub("0", text)


def normalize(line: str, strip_all_accents: bool = False, keep_digits: bool = False) -> str:
    """One line normalized as cc_net does (see the module docstring for the differences); with
    ``keep_digits`` the digits are left as they are."""
    text = _strip_accents(_TO_REPLACE.sub(_replace, line.lower()), strip_all_accents)
    return text if keep_digits else _zero_digits(text)


def lm_tokens(line: str, lang: str) -> List[str]:
    """The tokens of one line as the language model sees them."""
    return words(normalize(line), lang)


def lm_characters(line: str) -> List[str]:
    """The characters of one normalized line, spaces left out (character-level models)."""
    return [ch for ch in normalize(line) if not ch.isspace()]


def lm_lines(text: str, lang: str, unit: str = "words") -> Iterator[str]:
    """Each non-empty line of ``text`` as a space-joined token string (the LM's input format): ICU
    words, or characters with ``unit="chars"``."""
    for line in text.split("\n"):
        tokens = lm_characters(line) if unit == "chars" else lm_tokens(line, lang)
        if tokens:
            yield " ".join(tokens)


__all__ = ["normalize", "lm_tokens", "lm_characters", "lm_lines"]
