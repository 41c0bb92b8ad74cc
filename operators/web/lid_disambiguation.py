"""Re-decide the language pairs that fastText lid.176 confuses (ms/id, az/tr, ne/hi, zh/ja).

lid.176 is accurate for most of the 29 target languages but systematically prefers one language of
a few close pairs: standard Malay comes out as Indonesian (about two thirds of FLORES Malay
sentences), Nepali as Hindi, Azerbaijani as Turkish, and short Simplified-Chinese sentences as
Japanese.  :class:`LanguagePairDisambiguator` looks at lid.176's top-k candidates and, only when
the top label belongs to one of these pairs, decides between the two languages of the pair:

``naive_bayes`` pairs (ms/id, az/tr)
    A two-class multinomial Naive Bayes over lower-cased words and the character n-grams of each
    (space-padded) word, trained by ``pipelines/train_lid_disambiguator.py`` on NTREX-128 and
    Leipzig sentences (never on FLORES).  The model file stores one log-likelihood ratio per
    feature (``log P(f|first) - log P(f|second)``).  NB is badly over-confident (a word's n-grams
    are correlated), so the summed word ratios W, the summed n-gram ratios G and lid.176's own
    log-ratio of the two labels L are combined by a logistic regression fitted on out-of-fold
    scores: P(first | pair) = sigmoid(a*W + a'*G + b*L + c).  Features are word-local, so the
    (calibrated) score of a word is cached and a document costs one dict lookup per word once its
    words were seen.  Either label of the pair triggers it.

``marker_rule`` pairs (ne/hi)
    No Hindi text is available to train on, so: when lid.176 says ``hi`` and ``ne`` is among its
    candidates, the text is relabelled ``ne`` if it contains at least ``min_markers`` Nepali marker
    words (frequent words of NTREX Nepali that are not Hindi words) and none of a hand list of
    Hindi-only function words (है, हैं, था, में, ...).  Genuine Hindi practically always has one of
    those function words, so the rule stays off for Hindi.

``script_rule`` pairs (zh/ja)
    Japanese writing always mixes kana into kanji, Chinese never uses kana: when lid.176 says
    ``ja``, ``zh`` is a candidate and the text has Han characters but not a single kana, the label
    becomes ``zh``.

Returned score when a pair decides: ``(p_first + p_second) * P(label | pair)``.  The first factor
is lid.176's probability that the text is in *one of* the two languages - the part of its output
that is reliable, and what the low-confidence filter is meant to judge (noisy, mixed or foreign
text gets a small pair mass).  The second is the calibrated probability of the chosen label within
the pair (1 when a rule fires).  So a Malay sentence that lid.176 split as id 0.55 / ms 0.40 and
the NB calls Malay with 0.97 gets 0.95 * 0.97 = 0.92 instead of lid.176's 0.40 for ``ms`` (which
the default 0.65 threshold would drop); one the model is unsure about gets about half the pair
mass and is dropped like any other uncertain document.  When the NB keeps lid.176's top label the
score is never lowered below lid.176's own top probability (no document lid.176 alone would keep
is lost to the threshold), and a rule that does not fire returns lid.176's answer unchanged.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, Iterable, Iterator, List, Optional, Sequence, Tuple

FORMAT = "marco-lid-pair-disambiguation"
FORMAT_VERSION = 1

# Letters only (no digits, no underscore); after NFC + lower-casing this is enough for the Latin
# pairs.  U+0307 (combining dot above) is what Python's lower() leaves after Turkish "İ".
_WORD_RE = re.compile(r"[^\W\d_]+")
# Punctuation stripped from whitespace tokens for the Devanagari rule (Python's \w does not
# cover Indic vowel signs, so the rule tokenises on whitespace instead).
_DEVA_STRIP = "\"'“”‘’«»()[]{}<>.,;:!?।॥-–—…/\\|*#%&+=0123456789०१२३४५६७८९"
HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
KANA_RE = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")

Candidates = Sequence[Tuple[str, float]]


def words(text: str, max_chars: Optional[int] = None) -> List[str]:
    """Lower-cased letter words of ``text`` (the NB tokenisation, shared with training)."""
    if max_chars is not None:
        text = text[:max_chars]
    text = unicodedata.normalize("NFC", text).lower().replace("\u0307", "")
    return _WORD_RE.findall(text)


def word_ngrams(word: str, ngram_min: int, ngram_max: int) -> Iterator[str]:
    """Character n-grams of `` word `` (space-padded so prefixes and suffixes are distinct)."""
    padded = f" {word} "
    size = len(padded)
    for n in range(ngram_min, ngram_max + 1):
        for i in range(0, size - n + 1):
            yield padded[i:i + n]


def deva_tokens(text: str) -> List[str]:
    out = []
    for token in text.split():
        token = token.strip(_DEVA_STRIP)
        if token:
            out.append(token)
    return out


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def lid_log_ratio(candidates: Candidates, first: str, second: str, floor: float = 1e-4) -> float:
    """log(p_first / p_second) from lid.176's top-k; an absent label gets min(last prob, floor)."""
    probs = dict(candidates)
    missing = min(floor, candidates[-1][1]) if candidates else floor
    p1 = max(probs.get(first, missing), 1e-6)
    p2 = max(probs.get(second, missing), 1e-6)
    return math.log(p1) - math.log(p2)


@dataclass
class NaiveBayesPair:
    """Two-class NB over words + char n-grams, with a logistic calibration on top.

    P(first | pair) = sigmoid(coef_words * W + coef_ngrams * G + coef_lid * L + bias), where W and G
    are the summed NB log-likelihood ratios of the word and of the n-gram features of the text and
    L is lid.176's log(p_first / p_second).  Weights are word-local, so ``coef_words * w(word) +
    coef_ngrams * sum(g(gram) for gram in word)`` is computed once per distinct word and cached.
    """

    labels: Tuple[str, str]
    word_weights: Dict[str, float]
    ngram_weights: Dict[str, float]
    ngram_min: int
    ngram_max: int
    coef_words: float = 1.0
    coef_ngrams: float = 1.0
    coef_lid: float = 0.0
    bias: float = 0.0
    max_chars: int = 3000
    lid_floor: float = 1e-4
    cache_size: int = 200_000
    _cache: Dict[str, float] = field(default_factory=dict, repr=False)

    kind = "naive_bayes"

    def set_calibration(self, coef_words: float, coef_ngrams: float, coef_lid: float,
                        bias: float) -> None:
        self.coef_words, self.coef_ngrams, self.coef_lid, self.bias = (
            float(coef_words), float(coef_ngrams), float(coef_lid), float(bias))
        self._cache = {}

    def word_parts(self, word: str) -> Tuple[float, float]:
        """(word weight, summed n-gram weights) of one word - uncalibrated NB log-ratios."""
        get = self.ngram_weights.get
        grams = 0.0
        if self.ngram_max >= self.ngram_min:
            for gram in word_ngrams(word, self.ngram_min, self.ngram_max):
                grams += get(gram, 0.0)
        return self.word_weights.get(word, 0.0), grams

    def word_score(self, word: str) -> float:
        score = self._cache.get(word)
        if score is None:
            w, g = self.word_parts(word)
            score = self.coef_words * w + self.coef_ngrams * g
            if len(self._cache) >= self.cache_size:
                self._cache.clear()
            self._cache[word] = score
        return score

    def feature_sums(self, text: str) -> Tuple[float, float]:
        """(W, G): summed word and n-gram NB log-ratios of ``text`` (training / inspection)."""
        total_w = total_g = 0.0
        for word in words(text, self.max_chars):
            w, g = self.word_parts(word)
            total_w += w
            total_g += g
        return total_w, total_g

    def text_score(self, text: str) -> float:
        """coef_words * W + coef_ngrams * G for ``text`` (cached per word)."""
        cache = self._cache
        total = 0.0
        for word in words(text, self.max_chars):
            s = cache.get(word)
            total += s if s is not None else self.word_score(word)
        return total

    def probability_first(self, text: str, candidates: Candidates) -> float:
        first, second = self.labels
        z = (self.text_score(text)
             + self.coef_lid * lid_log_ratio(candidates, first, second, self.lid_floor)
             + self.bias)
        return _sigmoid(z)

    def decide(self, text: str, candidates: Candidates) -> Tuple[str, float]:
        """(label, P(label | pair))."""
        p = self.probability_first(text, candidates)
        return (self.labels[0], p) if p >= 0.5 else (self.labels[1], 1.0 - p)

    def to_json(self) -> dict:
        return {
            "type": self.kind,
            "labels": list(self.labels),
            "ngram_range": [self.ngram_min, self.ngram_max],
            "max_chars": self.max_chars,
            "lid_floor": self.lid_floor,
            "calibration": {"words": self.coef_words, "ngrams": self.coef_ngrams,
                            "lid": self.coef_lid, "bias": self.bias},
            "words": self.word_weights,
            "ngrams": self.ngram_weights,
        }

    @classmethod
    def from_json(cls, obj: dict) -> "NaiveBayesPair":
        cal = obj["calibration"]
        return cls(
            labels=(obj["labels"][0], obj["labels"][1]),
            word_weights={k: float(v) for k, v in obj["words"].items()},
            ngram_weights={k: float(v) for k, v in obj["ngrams"].items()},
            ngram_min=int(obj["ngram_range"][0]),
            ngram_max=int(obj["ngram_range"][1]),
            coef_words=float(cal["words"]),
            coef_ngrams=float(cal["ngrams"]),
            coef_lid=float(cal["lid"]),
            bias=float(cal["bias"]),
            max_chars=int(obj.get("max_chars", 3000)),
            lid_floor=float(obj.get("lid_floor", 1e-4)),
        )


@dataclass
class MarkerRulePair:
    """Relabel ``source`` -> ``target`` on marker words of ``target`` and no blocker word."""

    labels: Tuple[str, str]  # (target, source), e.g. ("ne", "hi")
    markers: FrozenSet[str]
    blockers: FrozenSet[str]
    min_markers: int = 2
    max_chars: int = 3000

    kind = "marker_rule"

    def decide(self, text: str, candidates: Candidates) -> Optional[Tuple[str, float]]:
        """(target, 1.0) when the rule fires, else None (lid.176's answer stands)."""
        tokens = set(deva_tokens(text[: self.max_chars]))
        if tokens & self.blockers:
            return None
        if len(tokens & self.markers) >= self.min_markers:
            return self.labels[0], 1.0
        return None

    def to_json(self) -> dict:
        return {
            "type": self.kind,
            "labels": list(self.labels),
            "min_markers": self.min_markers,
            "max_chars": self.max_chars,
            "markers": sorted(self.markers),
            "blockers": sorted(self.blockers),
        }

    @classmethod
    def from_json(cls, obj: dict) -> "MarkerRulePair":
        return cls(
            labels=(obj["labels"][0], obj["labels"][1]),
            markers=frozenset(obj["markers"]),
            blockers=frozenset(obj["blockers"]),
            min_markers=int(obj.get("min_markers", 2)),
            max_chars=int(obj.get("max_chars", 3000)),
        )


@dataclass
class ScriptRulePair:
    """Relabel ``source`` (ja) -> ``target`` (zh) when the text has Han but no kana at all."""

    labels: Tuple[str, str]  # (target, source) = ("zh", "ja")
    min_han: int = 2
    max_chars: int = 3000

    kind = "script_rule"

    def decide(self, text: str, candidates: Candidates) -> Optional[Tuple[str, float]]:
        """(target, 1.0) when the rule fires, else None (lid.176's answer stands)."""
        text = text[: self.max_chars]
        if KANA_RE.search(text) is None and len(HAN_RE.findall(text)) >= self.min_han:
            return self.labels[0], 1.0
        return None

    def to_json(self) -> dict:
        return {"type": self.kind, "labels": list(self.labels), "min_han": self.min_han,
                "max_chars": self.max_chars}

    @classmethod
    def from_json(cls, obj: dict) -> "ScriptRulePair":
        return cls(labels=(obj["labels"][0], obj["labels"][1]), min_han=int(obj.get("min_han", 2)),
                   max_chars=int(obj.get("max_chars", 3000)))


_PAIR_TYPES = {cls.kind: cls for cls in (NaiveBayesPair, MarkerRulePair, ScriptRulePair)}


class LanguagePairDisambiguator:
    """Re-decides lid.176's top label for confusable pairs; everything else passes through.

    ``resolve(text, candidates)`` takes lid.176's top-k ``[(label, prob), ...]`` (sorted, best first)
    and returns the final ``(label, score)``.  A pair is consulted only when lid.176's top label is
    one of its triggers: either label for NB pairs, the ``source`` label (hi, ja) for rule pairs and
    then only when the other label is among the candidates.
    """

    def __init__(self, pairs: Iterable, metadata: Optional[dict] = None) -> None:
        self.pairs = list(pairs)
        self.metadata = dict(metadata or {})
        # top label -> pair (a label may trigger one pair only)
        self._by_top: Dict[str, object] = {}
        for pair in self.pairs:
            triggers = pair.labels if isinstance(pair, NaiveBayesPair) else pair.labels[1:]
            for label in triggers:
                if label in self._by_top:
                    raise ValueError(f"label {label!r} belongs to two disambiguation pairs")
                self._by_top[label] = pair

    # ----------------------------------------------------------------- decision
    def resolve(self, text: str, candidates: Candidates) -> Tuple[str, float]:
        if not candidates:
            return "", 0.0
        top, top_p = candidates[0]
        pair = self._by_top.get(top)
        if pair is None:
            return candidates[0]
        first, second = pair.labels
        probs = dict(candidates)
        if not isinstance(pair, NaiveBayesPair) and first not in probs:
            return candidates[0]  # the rule pairs need lid.176 to find the target plausible
        decision = pair.decide(text, candidates)
        if decision is None:
            return candidates[0]
        label, p_label = decision
        mass = probs.get(first, 0.0) + probs.get(second, 0.0)
        score = mass * p_label
        if label == top:
            score = max(score, top_p)
        return label, float(min(score, 1.0))

    # ---------------------------------------------------------------- file I/O
    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "metadata": self.metadata,
            "pairs": [pair.to_json() for pair in self.pairs],
        }

    def save(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.to_json(), fh, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
            fh.write("\n")

    @classmethod
    def from_json(cls, obj: dict) -> "LanguagePairDisambiguator":
        if obj.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} file (format={obj.get('format')!r})")
        if int(obj.get("version", -1)) != FORMAT_VERSION:
            raise ValueError(f"unsupported {FORMAT} version {obj.get('version')!r}")
        pairs = []
        for p in obj["pairs"]:
            kind = p.get("type")
            if kind not in _PAIR_TYPES:
                raise ValueError(f"unknown disambiguation pair type {kind!r}")
            pairs.append(_PAIR_TYPES[kind].from_json(p))
        return cls(pairs, obj.get("metadata"))

    @classmethod
    def from_file(cls, path: str) -> "LanguagePairDisambiguator":
        with open(path, encoding="utf-8") as fh:
            return cls.from_json(json.load(fh))
