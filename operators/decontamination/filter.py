"""Benchmark decontamination: drop (or cut) what overlaps the evaluation sets (paper §3.1.3: "remove ... the
data from common benchmarks").

For every text of a row (``text``; both sides of a parallel pair) and every benchmark item version of the
index (``index.py``):

1. **Exact n-grams** (``ngrams.py``: 5 words, 8 characters of unspaced scripts or Hangul syllables,
   normalized). The item's
   *coverage* is the share of its units inside n-grams the text also has (Llama 2's contamination study
   counts tokens the same way). Every language version of a multi-parallel benchmark (FLORES, Belebele) is
   in the index, so a copy in any of its languages is an exact match.
2. **Embeddings**, for texts in the encoder's languages (``cross_lingual``): each sentence of the text, and each
   two consecutive ones, is compared with the benchmark's pieces (``sentences.py``) (cosine minus half the benchmark sentence's hubness, ``index.py``);
   one at or above the similarity threshold covers its benchmark sentence's units. A text in a language the
   encoder does not cover is never scored: it is kept (if its n-grams allow) with the note
   ``sim:unsupported_lang``. This finds translations into languages the benchmark lacks, and paraphrases. USE's
   thresholds are per language (``operators/resources/decontamination/use_similarity.json``, derived by
   ``pipelines/derive_similarity_thresholds.py``).

Coverage is taken per item version, from both checks together. When an item's coverage reaches
``threshold`` the row is dropped as ``contaminated:<benchmark>`` (``action: drop``), or the matched spans
are cut out (``action: cut``, single-text rows: the matched n-grams' and sentences' characters are removed,
and the row is dropped with the same reason if fewer than ``min_chars_after_cut`` characters remain; a cut
row carries the note ``contaminated:<benchmark>``). Each row gets ``contamination_coverage``, its highest
item coverage (0 when nothing matched).

Which action fits where: a web page that quotes one benchmark sentence keeps the rest of its text with
``cut``; a QA pair, an instruction or a sentence pair is the item or it is not, so ``drop`` (the default).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pyarrow as pa

from common.config_check import ConfigError, ConfigPath
from operators.base import Operator, Outcome
from operators.decontamination.benchmarks import BenchmarkConfig
from operators.decontamination.index import HUB_WEIGHT, BenchmarkIndex, IndexSettings, open_index, prepare_index
from operators.decontamination.ngrams import CHAR_N, WORD_N, ngram_keys, unit_hashes, units
from operators.decontamination.sentences import text_windows
from operators.resources import resource_path

ACTIONS = ("drop", "cut")
# The note of a text in a language the cross-lingual encoder does not cover (only its exact n-grams were checked).
UNSUPPORTED_LANG = "sim:unsupported_lang"


@dataclass
class CrossLingualConfig:
    # use | laser; null = no embedding check (exact n-grams only).
    encoder: Optional[str] = None
    # LASER's folder (encoder: laser).
    model_dir: Optional[ConfigPath] = None
    device: str = "auto"
    # Cosine at or above which a sentence matches a benchmark sentence; null = the encoder's per-language
    # table (USE: use_similarity.json; LASER: 0.8, the cosine xsim-style mining keeps).
    min_similarity: Optional[float] = None

    def validate(self) -> None:
        if self.encoder is not None:
            self.encoder_config().validate()
        if self.min_similarity is not None and not 0 < self.min_similarity <= 1:
            raise ConfigError("min_similarity: a cosine in (0, 1]")

    def encoder_config(self):
        from operators.embeddings.encoders import EncoderConfig

        return EncoderConfig(encoder=self.encoder, model_dir=self.model_dir, device=self.device)

    def check_files(self) -> None:
        if self.encoder is not None:
            self.encoder_config().check_files()

    def thresholds(self) -> Tuple[float, Dict[str, float]]:
        """(default, per-language) cosine thresholds."""
        if self.min_similarity is not None:
            return self.min_similarity, {}
        if self.encoder == "use":
            with open(resource_path("decontamination", "use_similarity.json"), encoding="utf-8") as handle:
                table = json.load(handle)
            return table["default"], table["languages"]
        return 0.8, {}


@dataclass
class DecontaminationConfig:
    # Benchmark sets (benchmarks.py documents the keys); none = the step is off.
    benchmarks: List[BenchmarkConfig] = field(default_factory=list)
    # Share of one benchmark item's units found in the text at which the text is contaminated.
    threshold: float = 0.5
    action: str = "drop"
    # n-gram length in words, and in characters for unspaced scripts (ngrams.py says why).
    word_n: int = WORD_N
    char_n: int = CHAR_N
    # n-grams found in more item groups than this are a benchmark's boilerplate: not indexed.
    max_items_per_ngram: int = 50
    # action: cut: a row with fewer characters left is dropped.
    min_chars_after_cut: int = 200
    cross_lingual: CrossLingualConfig = field(default_factory=CrossLingualConfig)

    def validate(self) -> None:
        if not 0 < self.threshold <= 1:
            raise ConfigError("threshold: a share of an item's units in (0, 1]")
        if self.action not in ACTIONS:
            raise ConfigError(f"action: expected one of {', '.join(ACTIONS)}, got {self.action!r}")
        if self.word_n < 2 or self.char_n < 2 or self.max_items_per_ngram < 1:
            raise ConfigError("word_n, char_n: at least 2; max_items_per_ngram: at least 1")
        names = [b.name for b in self.benchmarks]
        if len(set(names)) != len(names):
            raise ConfigError("benchmarks: two benchmarks share a name")

    @property
    def enabled(self) -> bool:
        return bool(self.benchmarks)

    def check_files(self) -> None:
        for benchmark in self.benchmarks:
            try:
                benchmark.check_files()
            except ConfigError as error:
                raise ConfigError(f"decontamination.benchmarks.{error}") from None
        try:
            self.cross_lingual.check_files()
        except ConfigError as error:
            raise ConfigError(f"decontamination.cross_lingual.{error}") from None

    def index_settings(self) -> IndexSettings:
        encoder = asdict(self.cross_lingual.encoder_config()) if self.cross_lingual.encoder else None
        return IndexSettings(list(self.benchmarks), self.word_n, self.char_n, self.max_items_per_ngram, encoder)

    def describe(self) -> str:
        """What stats.json and the output's metadata say about decontamination."""
        if not self.enabled:
            return "not applied: no benchmarks given"
        check = "exact n-grams"
        if self.cross_lingual.encoder:
            from operators.embeddings.encoders import encoder_name

            check += f" + sentence embeddings ({encoder_name(self.cross_lingual.encoder_config())})"
        return (f"{self.action} at item coverage >= {self.threshold} against "
                f"{', '.join(b.name for b in self.benchmarks)} ({check}; {self.word_n}-word / {self.char_n}-character n-grams)")


def prepare(config: DecontaminationConfig) -> Optional[str]:
    """Build the index before work starts (the driver calls this); its folder, or None when off."""
    return prepare_index(config.index_settings()) if config.enabled else None


def _merge(spans: List[Tuple[int, int]]) -> List[Tuple[int, int]]:
    out: List[Tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _texts(values: List, messages: bool) -> List[str]:
    if not messages:
        return [v or "" for v in values]
    out = []
    for value in values:
        try:
            turns = json.loads(value) if value else []
            out.append("\n".join(str(t.get("content") or "") for t in turns if isinstance(t, dict)))
        except (ValueError, AttributeError, TypeError):
            out.append(value or "")
    return out


class _Match:
    """Per text: covered units per item version, and the character spans that matched."""

    def __init__(self) -> None:
        self.covered: Dict[int, np.ndarray] = {}
        self.spans: Dict[int, List[Tuple[int, int]]] = {}
        self.similarity = 0.0

    def cover(self, index: BenchmarkIndex, row: int, first: int, count: int, span: Optional[Tuple[int, int]]) -> None:
        mask = self.covered.get(row)
        if mask is None:
            mask = self.covered[row] = np.zeros(int(index.item_units[row]), dtype=bool)
        mask[first:first + count] = True
        if span is not None:
            self.spans.setdefault(row, []).append(span)

    def coverage(self, index: BenchmarkIndex) -> Tuple[float, Optional[int]]:
        best, best_row = 0.0, None
        for row, mask in self.covered.items():
            share = float(mask.mean()) if len(mask) else 0.0
            if share > best:
                best, best_row = share, row
        return best, best_row


class Decontaminate(Operator):
    """Drops (or cuts) rows whose text covers a benchmark item; ``text_columns`` and ``lang_columns`` are
    aligned (a pair's two sides)."""

    name = "decontamination"

    def __init__(self, config: DecontaminationConfig, text_columns: Sequence[str] = ("text",),
                 lang_columns: Sequence[str] = ("lang",), message_columns: Sequence[str] = ()) -> None:
        if config.action == "cut" and (len(text_columns) != 1 or message_columns):
            raise ConfigError("decontamination.action: cut works on one plain text column; use drop here")
        # Columns holding a conversation as JSON ([{"role", "content"}...]): its contents, one per line.
        self.message_columns = frozenset(message_columns)
        self.config = config
        self.text_columns = list(text_columns)
        self.lang_columns = list(lang_columns)
        self._index: Optional[BenchmarkIndex] = None
        self._encoder = None

    def setup(self) -> None:
        self._index = open_index(self.config.index_settings())
        if self.config.cross_lingual.encoder and self._index.vectors is not None and len(self._index.vectors):
            from operators.embeddings.encoders import load_encoder

            self._encoder = load_encoder(self.config.cross_lingual.encoder_config())
        self._default_similarity, self._similarity = self.config.cross_lingual.thresholds()

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_index"] = None
        state["_encoder"] = None
        return state

    # -- the two checks --------------------------------------------------------------------------------
    def _exact(self, text: str, match: _Match, spans: bool = False) -> None:
        """Marks the n-gram matches; with ``spans``, also where in the text they are (a slower pass, for cut)."""
        index = self._index
        if spans:
            hashes, is_char, starts, ends = units(text)
        else:
            hashes, is_char = unit_hashes(text)
        keys, first, length = ngram_keys(hashes, is_char, self.config.word_n, self.config.char_n)
        if len(keys):
            rows = index.lookup(np.unique(keys))
            if len(rows):
                order = np.argsort(keys, kind="stable")
                positions = order[np.searchsorted(keys[order], index.keys[rows])]
                for r, p in zip(rows.tolist(), positions.tolist()):
                    item = int(index.rows[r])
                    span = (int(starts[first[p]]), int(ends[first[p] + length[p] - 1])) if spans else None
                    match.cover(index, item, int(index.starts[r]), int(index.spans[r]), span)

    def _threshold(self, lang: Optional[str]) -> float:
        return float(self._similarity.get(lang or "", self._default_similarity))

    def _embedding(self, texts: List[Tuple[int, str, Optional[str]]], matches: List[_Match]) -> None:
        """Sentence matches of the (match number, text, lang) the encoder covers, batched per language."""
        index, encoder = self._index, self._encoder
        by_lang: Dict[str, List[Tuple[int, str, Tuple[int, int]]]] = {}
        for number, text, lang in texts:
            if not encoder.covers(lang):
                continue
            for span in text_windows(text):
                by_lang.setdefault(lang, []).append((number, text[span[0]:span[1]], span))
        vectors = np.asarray(index.vectors)
        hub = HUB_WEIGHT * np.asarray(index.vector_hub)
        for lang, sentences in by_lang.items():
            embedded = encoder.encode([s for _, s, _ in sentences], lang)
            similarity = embedded @ vectors.T - hub
            best = similarity.argmax(axis=1)
            scores = similarity[np.arange(len(best)), best]
            threshold = self._threshold(lang)
            for (number, _, span), target, score in zip(sentences, best.tolist(), scores.tolist()):
                match = matches[number]
                match.similarity = max(match.similarity, float(score))
                if score >= threshold:
                    row = int(index.vector_rows[target])
                    match.cover(index, row, int(index.vector_starts[target]), int(index.vector_units[target]), span)

    # -- the operator ------------------------------------------------------------------------------------
    def process(self, batch: pa.Table) -> Outcome:
        index = self._index
        rows = batch.num_rows
        columns = [(_texts(batch.column(t).to_pylist(), t in self.message_columns),
                    batch.column(l).to_pylist() if l in batch.column_names else [None] * rows)
                   for t, l in zip(self.text_columns, self.lang_columns)]
        matches: List[_Match] = []
        owner: List[Tuple[int, int]] = []          # (row, column) of each match
        pending: List[Tuple[int, str, Optional[str]]] = []
        unscored = [False] * rows                  # a text the encoder does not cover: counted, never scored
        for r in range(rows):
            for c, (texts, langs) in enumerate(columns):
                text = texts[r] or ""
                match = _Match()
                self._exact(text, match)
                coverage, _ = match.coverage(index)
                if coverage < self.config.threshold and self._encoder is not None:
                    if self._encoder.covers(langs[r]):
                        pending.append((len(matches), text, langs[r]))
                    elif text.strip():
                        unscored[r] = True
                matches.append(match)
                owner.append((r, c))
        if pending:
            self._embedding(pending, matches)
        reasons: List[Optional[str]] = [None] * rows
        notes: List[Optional[str]] = [UNSUPPORTED_LANG if u else None for u in unscored]
        coverage_column = [0.0] * rows
        texts_out = list(columns[0][0]) if self.config.action == "cut" else None
        for match, (r, c) in zip(matches, owner):
            coverage, row = match.coverage(index)
            coverage_column[r] = max(coverage_column[r], coverage)
            if row is None or coverage < self.config.threshold:
                continue
            reason = f"contaminated:{index.benchmarks[int(index.item_benchmark[row])]}"
            if self.config.action == "drop":
                reasons[r] = reasons[r] or reason
                continue
            text = texts_out[r] or ""
            self._exact(text, match, spans=True)
            cut = _merge([s for item, spans in match.spans.items()
                          if match.covered[item].mean() >= self.config.threshold for s in spans])
            kept, last = [], 0
            for a, b in cut:
                kept.append(text[last:a])
                last = b
            kept.append(text[last:])
            texts_out[r] = "".join(kept).strip()
            if len(texts_out[r]) < self.config.min_chars_after_cut:
                reasons[r] = reason
            else:
                notes[r] = reason           # a cut outranks the unscored note
        table = batch
        if texts_out is not None:
            position = table.column_names.index(self.text_columns[0])
            table = table.set_column(position, self.text_columns[0], pa.array(texts_out, type=pa.string()))
        table = table.append_column("contamination_coverage", pa.array(coverage_column, type=pa.float32()))
        return Outcome(table, reasons, notes)


__all__ = ["DecontaminationConfig", "CrossLingualConfig", "Decontaminate", "prepare", "ACTIONS"]
