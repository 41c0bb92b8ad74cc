"""Heuristic quality filter with per-language thresholds (paper §3.1.1, "Quality Filtering").

Runs after language ID (it needs ``lang``). For each document it computes the signals of
:mod:`operators.web.quality_signals`, stores them as ``q_<signal>`` columns (float32) so thresholds can be
re-derived from the output, and drops the document with the reason ``quality:<rule>`` of the first
rule it fails (:data:`operators.web.quality_thresholds.RULES`, in that order).

Thresholds come in three layers: each rule's built-in default < ``quality.thresholds_file`` (shipped:
``operators/resources/quality/thresholds.yaml``, derived from FLORES-200 dev documents) < ``quality.thresholds``
inline (what ``pipelines/derive_thresholds.py`` writes, so its output works as ``--config``).
``mode: annotate`` computes and stores the signals without dropping anything: run it to collect the
distributions a new derivation needs.

A language without a stop-word list is not judged on its stop-word ratio, and one without a blocklist
has ``q_blocklist_ratio`` 0 (``blocklist: none`` in the thresholds file's provenance).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import pyarrow as pa

from common.config_check import ConfigError, ConfigPath, read_yaml_mapping
from common.model_cache import cached
from operators.base import Operator, Outcome
from operators.resources import resource_path
from operators.web.quality_signals import SIGNALS, Blocklist, LanguageLists, compute_signals
from operators.web.quality_thresholds import Thresholds, check_thresholds, failing_rule, resolve

DEFAULT_THRESHOLDS_FILE = resource_path("quality", "thresholds.yaml")
DEFAULT_STOP_WORDS_DIR = resource_path("quality", "stop_words")
DEFAULT_BLOCKLIST_DIR = resource_path("quality", "blocklists")
MODES = ("filter", "annotate")
REASON_PREFIX = "quality:"


def signal_column(signal: str) -> str:
    return f"q_{signal}"


@dataclass
class QualityConfig:
    # "filter" drops documents that fail a rule; "annotate" only adds the q_* columns.
    mode: str = "filter"
    # Per-language thresholds file (a YAML with quality.thresholds); "" = built-in defaults only.
    thresholds_file: ConfigPath = DEFAULT_THRESHOLDS_FILE
    # Inline per-language thresholds, over the file's: {lang | default: {rule: value | null}}.
    thresholds: Dict[str, Any] = field(default_factory=dict)
    # Where a derivation came from (written by derive_thresholds.py; informational).
    provenance: Any = None
    # Folders of <lang>.txt word lists.
    stop_words_dir: ConfigPath = DEFAULT_STOP_WORDS_DIR
    blocklist_dir: ConfigPath = DEFAULT_BLOCKLIST_DIR
    # Signals are computed on at most this many characters of a document (cost bound).
    max_chars: int = 200_000

    def validate(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"mode: expected one of {', '.join(MODES)}, got {self.mode!r}")
        if self.max_chars <= 0:
            raise ConfigError("max_chars: must be positive")
        check_thresholds(self.thresholds, "thresholds")

    def check_files(self) -> None:
        for key, folder in (("quality.stop_words_dir", self.stop_words_dir), ("quality.blocklist_dir", self.blocklist_dir)):
            if not os.path.isdir(folder):
                raise ConfigError(f"{key}: folder not found: {folder}")
        self.per_language_thresholds()

    def per_language_thresholds(self) -> Dict[str, Thresholds]:
        merged: Dict[str, Thresholds] = {}
        if self.thresholds_file:
            for lang, values in load_thresholds_file(self.thresholds_file).items():
                merged.setdefault(lang, {}).update(values)
        for lang, values in check_thresholds(self.thresholds, "quality.thresholds").items():
            merged.setdefault(lang, {}).update(values)
        return merged


def load_thresholds_file(path: str) -> Dict[str, Thresholds]:
    """The ``quality.thresholds`` mapping of a thresholds YAML, validated (errors name file and key)."""
    data = read_yaml_mapping("quality.thresholds_file", path)
    if not isinstance(data.get("quality"), dict) or "thresholds" not in data["quality"]:
        raise ConfigError(f"quality.thresholds_file {path}: expected a mapping quality.thresholds")
    unknown = sorted(set(data["quality"]) - {"thresholds", "provenance"})
    if unknown:
        raise ConfigError(f"quality.thresholds_file {path}: unknown key quality.{unknown[0]}")
    try:
        return check_thresholds(data["quality"]["thresholds"], "quality.thresholds")
    except ConfigError as exc:
        raise ConfigError(f"quality.thresholds_file {path}: {exc}") from None


def _read_list(path: str) -> List[str]:
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8") as handle:
        return [line.strip() for line in handle if line.strip() and not line.startswith("#")]


def load_language_lists(lang: str, stop_words_dir: str, blocklist_dir: str) -> Optional[LanguageLists]:
    """Stop words and blocklist of ``lang``; None stop words when the language has no list."""
    stop_words = _read_list(os.path.join(stop_words_dir, f"{lang}.txt"))
    blocklist = _read_list(os.path.join(blocklist_dir, f"{lang}.txt"))
    return LanguageLists(
        stop_words=frozenset(w.lower() for w in stop_words),
        blocklist=Blocklist.from_entries(blocklist, lang),
    )


class QualitySignals:
    """Signals of documents in any language, with word lists loaded once per process."""

    def __init__(self, stop_words_dir: str = DEFAULT_STOP_WORDS_DIR, blocklist_dir: str = DEFAULT_BLOCKLIST_DIR,
                 max_chars: int = 200_000) -> None:
        self.stop_words_dir = stop_words_dir
        self.blocklist_dir = blocklist_dir
        self.max_chars = max_chars

    def lists(self, lang: str) -> LanguageLists:
        return cached(("quality_lists", lang, self.stop_words_dir, self.blocklist_dir),
                      lambda: load_language_lists(lang, self.stop_words_dir, self.blocklist_dir))

    def has_stop_words(self, lang: str) -> bool:
        return bool(self.lists(lang).stop_words)

    def compute(self, text: str, lang: str) -> Dict[str, float]:
        return compute_signals((text or "")[: self.max_chars], lang, self.lists(lang))


class QualityFilter(Operator):
    name = "quality"

    def __init__(self, config: QualityConfig) -> None:
        self.config = config
        self.signals = QualitySignals(config.stop_words_dir, config.blocklist_dir, config.max_chars)
        self._per_language: Optional[Dict[str, Thresholds]] = None
        self._resolved: Dict[str, Thresholds] = {}

    def setup(self) -> None:
        self._per_language = self.config.per_language_thresholds()

    def thresholds(self, lang: str) -> Thresholds:
        if lang not in self._resolved:
            resolved = resolve(self._per_language or {}, lang)
            if not self.signals.has_stop_words(lang):
                resolved["min_stop_word_ratio"] = None
            self._resolved[lang] = resolved
        return self._resolved[lang]

    def process(self, batch: pa.Table) -> Outcome:
        texts = batch.column("text").to_pylist()
        langs = batch.column("lang").to_pylist() if "lang" in batch.column_names else [""] * len(texts)
        columns: Dict[str, List[float]] = {signal: [] for signal in SIGNALS}
        reasons: List[Optional[str]] = []
        for text, lang in zip(texts, langs):
            lang = lang or ""
            values = self.signals.compute(text, lang)
            for signal in SIGNALS:
                columns[signal].append(values[signal])
            rule = failing_rule(values, self.thresholds(lang)) if self.config.mode == "filter" else None
            reasons.append(REASON_PREFIX + rule if rule else None)
        table = batch
        for signal in SIGNALS:
            array = pa.array(columns[signal], type=pa.float32())
            name = signal_column(signal)
            if name in table.column_names:
                table = table.set_column(table.column_names.index(name), name, array)
            else:
                table = table.append_column(name, array)
        return Outcome(table, reasons)


__all__ = ["QualityConfig", "QualityFilter", "QualitySignals", "load_thresholds_file", "signal_column",
           "DEFAULT_THRESHOLDS_FILE", "REASON_PREFIX"]
