"""Heuristic filters for parallel pairs (paper §3.1.2), each rule its own drop reason.

The paper's source-side ratios, then the usual bitext rules (stopes' filtering pipeline, Moses
``clean-corpus-n``, NeMo's bitext filters), in this order (the first failing rule names the drop):

=========================  =====================================================================
reason                     rule
=========================  =====================================================================
``pair:empty``             either side empty (after trimming spaces)
``pair:too_long``          either side longer than ``max_chars`` (stopes: 1,050)
``pair:identical``         source and target equal after lowercasing and removing spaces/punctuation
``pair:source_copied``     the source (``copy_min_chars`` or more) appears inside the target
``pair:url_html``          HTML tags or entities on either side, or a URL on one side only
``pair:length_ratio``      length ratio beyond ``max_length_ratio`` either way, after dividing each
                           side's characters by its language's characters per sentence
                           (``LENGTH_SCALE``, from FLORES-200 dev: Chinese 0.34, Japanese 0.44 of
                           English), so the ratio is script-aware
``pair:numbers_differ``    a number of two or more digits in the source is missing from the
                           target *and* the target has one missing from the source (digits of
                           every script; 1,000 = 1.000 = 1000). Single digits and one-sided
                           differences are allowed: "June" becomes 6月, "three" becomes 3
``pair:symbol_ratio``      share of punctuation/symbol characters in the source above the maximum
``pair:digit_ratio``       share of digits in the source above the maximum
``pair:repeated_words``    share of the source's words that repeat an earlier word above the maximum
``pair:stop_word_ratio``   a source of ``stop_word_min_words`` words or more with fewer stop words
                           than its language's floor (``STOP_WORD_FLOOR``, FLORES-200 dev P0.5)
``pair:wrong_lang_src``    lid.176 (+ disambiguation) gives the source another language and gives
                           its own language less than ``lid_min_prob``; same for the target
``pair:wrong_lang_tgt``
=========================  =====================================================================
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Set

import pyarrow as pa

from common.config_check import ConfigError
from common.words import words
from operators.base import Filter, Reason
from operators.web.langid import LanguageIdConfig, LanguageIdentifier
from operators.web.quality_filter import QualitySignals
from operators.web.quality_signals import char_class_counts

# Characters per sentence of each language relative to English, FLORES-200 dev (997 aligned sentences).
LENGTH_SCALE = {
    "en": 1.0, "zh": 0.34, "ar": 0.88, "de": 1.17, "es": 1.19, "fr": 1.19, "ko": 0.5, "ja": 0.44, "pt": 1.09,
    "tr": 1.03, "bn": 0.98, "he": 0.78, "id": 1.09, "it": 1.17, "ms": 1.12, "nl": 1.11, "pl": 1.07, "ru": 1.1,
    "th": 0.96, "uk": 1.03, "ur": 1.0, "vi": 1.05, "cs": 0.97, "el": 1.2, "hu": 1.05, "kk": 1.03, "ro": 1.13,
    "az": 1.09, "ne": 0.96,
}

# Lowest stop-word ratio of a source sentence of 8+ words: the 0.5th percentile over FLORES-200 dev
# (0 where the derived stop-word list is too short to say anything: agglutinative languages).
STOP_WORD_FLOOR = {
    "en": 0.136, "zh": 0.053, "ar": 0.0, "de": 0.157, "es": 0.214, "fr": 0.222, "ko": 0.0, "ja": 0.267,
    "pt": 0.188, "tr": 0.0, "bn": 0.0, "he": 0.0, "id": 0.083, "it": 0.188, "ms": 0.077, "nl": 0.222,
    "pl": 0.0, "ru": 0.0, "th": 0.263, "uk": 0.0, "ur": 0.187, "vi": 0.192, "cs": 0.047, "el": 0.167,
    "hu": 0.0, "kk": 0.0, "ro": 0.199, "az": 0.0, "ne": 0.0,
}

_HTML = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>|&(?:[a-zA-Z]{2,8}|#\d{2,5}|#x[0-9a-fA-F]{2,4});")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:[.,\u00a0\u202f\u2009 ]\d{3})*")
_NOT_WORD = re.compile(r"[\W_]+")


@dataclass
class PairFilterConfig:
    max_chars: int = 1050
    copy_min_chars: int = 10
    max_length_ratio: float = 2.0
    # The paper's source-side ratios. Defaults sit above what 99.5 % of FLORES-200 dev sentences show.
    max_symbol_ratio: float = 0.25
    max_digit_ratio: float = 0.4
    max_repeated_word_ratio: float = 0.5
    # None: the language's STOP_WORD_FLOOR; a number: that floor for every language.
    min_stop_word_ratio: Optional[float] = None
    stop_word_min_words: int = 8
    # Language ID of both sides; None disables it.
    lid_min_prob: Optional[float] = 0.05
    langid: LanguageIdConfig = field(default_factory=LanguageIdConfig)

    def validate(self) -> None:
        if self.max_chars <= 0 or self.copy_min_chars <= 0:
            raise ConfigError("max_chars, copy_min_chars: must be positive")
        if self.max_length_ratio < 1:
            raise ConfigError("max_length_ratio: must be at least 1")
        for name in ("max_symbol_ratio", "max_digit_ratio", "max_repeated_word_ratio", "min_stop_word_ratio"):
            if getattr(self, name) is not None and not 0 <= getattr(self, name) <= 1:
                raise ConfigError(f"{name}: must be between 0 and 1")

    def check_files(self) -> None:
        if self.lid_min_prob is not None:
            self.langid.check_files()


def numbers(text: str) -> Set[str]:
    """Numbers of two or more digits, in any script, with thousands separators removed."""
    if not any(ch.isdigit() for ch in text):
        return set()
    ascii_digits = "".join(str(unicodedata.digit(ch)) if ch.isdigit() and unicodedata.digit(ch, None) is not None
                           else ch for ch in text)
    found = {re.sub(r"\D", "", m) for m in _NUMBER.findall(ascii_digits)}
    return {n for n in found if len(n) >= 2}


def squeezed(text: str) -> str:
    """Lowercased letters and digits only: the form compared by pair:identical and the pair dedup."""
    return _NOT_WORD.sub("", text.lower())


class PairFilter(Filter):
    name = "pair_filter"

    def __init__(self, config: PairFilterConfig) -> None:
        self.config = config
        self.identifier: Optional[LanguageIdentifier] = None
        self.signals = QualitySignals()

    def setup(self) -> None:
        if self.config.lid_min_prob is not None:
            langid = self.config.langid
            self.identifier = LanguageIdentifier(langid.resolved_model_path(), langid.disambiguation_path)

    def reasons(self, batch: pa.Table) -> Sequence[Reason]:
        sources = batch.column("src_text").to_pylist()
        targets = batch.column("tgt_text").to_pylist()
        src_langs = batch.column("src_lang").to_pylist()
        tgt_langs = batch.column("tgt_lang").to_pylist()
        out: List[Reason] = [self._text_rules(s or "", t or "", sl, tl)
                             for s, t, sl, tl in zip(sources, targets, src_langs, tgt_langs)]
        if self.identifier is not None:
            todo = [i for i, reason in enumerate(out) if reason is None]
            for side, texts, langs in (("src", sources, src_langs), ("tgt", targets, tgt_langs)):
                wrong = self._wrong_language([texts[i] for i in todo], [langs[i] for i in todo])
                for i, bad in zip(todo, wrong):
                    if bad and out[i] is None:
                        out[i] = f"pair:wrong_lang_{side}"
        return out

    def _text_rules(self, src: str, tgt: str, src_lang: str, tgt_lang: str) -> Reason:
        config = self.config
        src, tgt = src.strip(), tgt.strip()
        if not src or not tgt:
            return "pair:empty"
        if len(src) > config.max_chars or len(tgt) > config.max_chars:
            return "pair:too_long"
        if squeezed(src) == squeezed(tgt):
            return "pair:identical"
        if len(src) >= config.copy_min_chars and src.lower() in tgt.lower():
            return "pair:source_copied"
        if _HTML.search(src) or _HTML.search(tgt) or bool(_URL.search(src)) != bool(_URL.search(tgt)):
            return "pair:url_html"
        ratio = (len(tgt) / LENGTH_SCALE.get(tgt_lang, 1.0)) / (len(src) / LENGTH_SCALE.get(src_lang, 1.0))
        if not 1 / config.max_length_ratio <= ratio <= config.max_length_ratio:
            return "pair:length_ratio"
        src_numbers, tgt_numbers = numbers(src), numbers(tgt)
        if src_numbers - tgt_numbers and tgt_numbers - src_numbers:
            return "pair:numbers_differ"
        symbols, digits, visible = char_class_counts(src)
        if symbols / visible > config.max_symbol_ratio:
            return "pair:symbol_ratio"
        if digits / visible > config.max_digit_ratio:
            return "pair:digit_ratio"
        tokens = [w.lower() for w in words(src, src_lang)]
        if tokens and 1 - len(set(tokens)) / len(tokens) > config.max_repeated_word_ratio:
            return "pair:repeated_words"
        stop_words = self.signals.lists(src_lang).stop_words
        floor = config.min_stop_word_ratio if config.min_stop_word_ratio is not None else STOP_WORD_FLOOR.get(src_lang, 0.0)
        if stop_words and len(tokens) >= config.stop_word_min_words:
            if sum(t in stop_words for t in tokens) / len(tokens) < floor:
                return "pair:stop_word_ratio"
        return None

    def _wrong_language(self, texts: Sequence[str], langs: Sequence[str]) -> List[bool]:
        if not texts:
            return []
        resolved = self.identifier.identify(texts)
        cleaned = [" ".join(t.split()) for t in texts]
        labels, probs = self.identifier.model.predict(cleaned, k=5)
        out = []
        for (top, _), row_labels, row_probs, lang in zip(resolved, labels, probs, langs):
            own = max((float(p) for label, p in zip(row_labels, row_probs) if label == f"__label__{lang}"), default=0.0)
            out.append(top != lang and own < self.config.lid_min_prob)
        return out


__all__ = ["PairFilter", "PairFilterConfig", "LENGTH_SCALE", "STOP_WORD_FLOOR", "numbers", "squeezed"]
