"""KenLM perplexity filter with per-language models (paper §3.1.1; CCNet, Wenzek et al. 2020).

"We utilize the KenLM library to evaluate a vast array of web documents. Documents with perplexity
scores largely above average are subsequently removed."

* Models: ``<model_dir>/<lang>.arpa.bin`` (or ``.arpa``), with ``<lang>.sp.model`` when the model is
  over SentencePiece pieces. Ours come from ``pipelines/train_kenlm.py`` and carry a model card
  (``<lang>.card.json``) that names the text preparation; a model without a card is taken to be one
  of cc_net's published models, whose text is normalized cc_net's way (every accent stripped).
  Without ``<lang>.sp.model`` the model is over ICU words, or over characters when its card says
  ``"unit": "chars"`` (ours for zh/ja/th). Loaded once per worker process.
* Score, as cc_net's ``DocLM``: for every non-empty line, ``log10 P(line)`` with sentence boundaries
  and its length in tokens + 1 (the end of sentence); ``ppl = 10 ** (-sum(log10 P) / sum(length))``.
* Cutoffs per language in ``<model_dir>/cutoffs.yaml`` or ``cutoffs_file``
  (``pipelines/derive_ppl_cutoffs.py``):
  ``head`` and ``tail`` (cc_net's 30th and 60th percentiles: ``ppl_bucket`` head < head <= middle
  < tail <= tail) and ``max``, the drop threshold: ``exp(mean + k * std)`` of log perplexity over a
  sample, i.e. "largely above average".
* Columns: ``ppl`` (float32, null without a model) and ``ppl_bucket``.
* A language without a model (or without cutoffs) is kept and counted as the note ``ppl:no_model``
  (``ppl:no_cutoff``), or dropped with that reason when ``missing_model: drop``. Never silent.
* Reason: ``ppl:above_max``.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import pyarrow as pa

from common.config_check import ConfigError, ConfigPath, read_yaml_mapping
from common.lm_text import lm_lines, normalize
from common.model_cache import cached
from operators.base import Operator, Outcome

MISSING_MODEL_POLICIES = ("keep", "drop")
CUTOFFS_FILE = "cutoffs.yaml"


@dataclass
class PerplexityConfig:
    # Folder of <lang>.arpa.bin models (and cutoffs.yaml); None = no perplexity step in the pipeline.
    model_dir: Optional[ConfigPath] = None
    # Cutoffs file (pipelines/derive_ppl_cutoffs.py); None = <model_dir>/cutoffs.yaml.
    cutoffs_file: Optional[ConfigPath] = None
    # What to do with a language that has no model or no cutoffs: keep (noted) or drop.
    missing_model: str = "keep"
    # Lines longer than this many characters are cut before scoring (KenLM cost is linear).
    max_line_chars: int = 10_000

    def validate(self) -> None:
        if self.missing_model not in MISSING_MODEL_POLICIES:
            raise ConfigError(f"missing_model: expected one of {', '.join(MISSING_MODEL_POLICIES)}, got {self.missing_model!r}")
        if self.max_line_chars <= 0:
            raise ConfigError("max_line_chars: must be positive")

    @property
    def enabled(self) -> bool:
        return bool(self.model_dir)

    def check_files(self) -> None:
        if not self.enabled:
            return
        if not os.path.isdir(self.model_dir):
            raise ConfigError(f"perplexity.model_dir: folder not found: {self.model_dir}")
        if not available_languages(self.model_dir):
            raise ConfigError(f"perplexity.model_dir: no <lang>.arpa.bin or <lang>.arpa models in {self.model_dir}")
        if self.cutoffs_file and not os.path.isfile(self.cutoffs_file):
            raise ConfigError(f"perplexity.cutoffs_file: file not found: {self.cutoffs_file}")
        load_cutoffs(self.resolved_cutoffs_file())

    def resolved_cutoffs_file(self) -> str:
        return self.cutoffs_file or os.path.join(self.model_dir, CUTOFFS_FILE)


def available_languages(model_dir: str) -> List[str]:
    langs = set()
    for name in os.listdir(model_dir):
        for suffix in (".arpa.bin", ".arpa"):
            if name.endswith(suffix):
                langs.add(name[: -len(suffix)])
    return sorted(langs)


def model_path(model_dir: str, lang: str) -> Optional[str]:
    for suffix in (".arpa.bin", ".arpa"):
        path = os.path.join(model_dir, lang + suffix)
        if os.path.isfile(path):
            return path
    return None


def load_cutoffs(path: str) -> Dict[str, Dict[str, float]]:
    """``{lang: {head, tail, max}}`` from a cutoffs file; {} when the file is absent."""
    if not os.path.isfile(path):
        return {}
    data = read_yaml_mapping("perplexity cutoffs", path).get("cutoffs")
    if not isinstance(data, dict):
        raise ConfigError(f"perplexity cutoffs {path}: expected a mapping cutoffs: {{lang: {{head, tail, max}}}}")
    checked: Dict[str, Dict[str, float]] = {}
    for lang, values in data.items():
        if not isinstance(values, dict) or set(values) - {"head", "tail", "max"}:
            raise ConfigError(f"perplexity cutoffs {path}: cutoffs.{lang}: expected keys head, tail, max")
        for key, value in values.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(f"perplexity cutoffs {path}: cutoffs.{lang}.{key}: expected a positive number")
        checked[str(lang)] = {k: float(v) for k, v in values.items()}
    return checked


class LanguageModel:
    """One language's KenLM model and how its input is prepared."""

    def __init__(self, path: str, lang: str, sentencepiece_path: Optional[str] = None,
                 ccnet_normalization: bool = False, unit: str = "words") -> None:
        import kenlm

        self.lang = lang
        self.model = kenlm.Model(path)
        self.ccnet_normalization = ccnet_normalization
        self.unit = unit
        self.sentencepiece = None
        if sentencepiece_path:
            import sentencepiece

            self.sentencepiece = sentencepiece.SentencePieceProcessor(model_file=sentencepiece_path)

    def lines(self, text: str, max_line_chars: int) -> List[str]:
        if self.sentencepiece is None:
            return list(lm_lines("\n".join(line[:max_line_chars] for line in text.split("\n")), self.lang, self.unit))
        prepared = []
        for line in text.split("\n"):
            line = " ".join(normalize(line[:max_line_chars], strip_all_accents=self.ccnet_normalization).split())
            if any(ch.isalnum() for ch in line):  # a line of punctuation only is not text to score
                prepared.append(" ".join(self.sentencepiece.encode(line, out_type=str)))
        return prepared

    def log10_and_length(self, text: str, max_line_chars: int = 10_000) -> Tuple[float, int]:
        """Total log10 probability of the document's lines and their token count (+1 per line)."""
        total, length = 0.0, 0
        for line in self.lines(text, max_line_chars):
            total += self.model.score(line, bos=True, eos=True)
            length += line.count(" ") + 2
        return total, length

    def perplexity(self, text: str, max_line_chars: int = 10_000) -> Optional[float]:
        total, length = self.log10_and_length(text, max_line_chars)
        return 10.0 ** (-total / length) if length else None


def load_language_model(model_dir: str, lang: str) -> Optional[LanguageModel]:
    """The language's model, or None; looked up and loaded once per process (absence included)."""
    return cached(("kenlm", model_dir, lang), lambda: _find_and_load(model_dir, lang))


def _find_and_load(model_dir: str, lang: str) -> Optional[LanguageModel]:
    path = model_path(model_dir, lang)
    if path is None:
        return None
    sp_path = os.path.join(model_dir, f"{lang}.sp.model")
    card_path = os.path.join(model_dir, f"{lang}.card.json")
    unit = "words"
    if os.path.isfile(card_path):
        with open(card_path, encoding="utf-8") as handle:
            unit = json.load(handle).get("unit", "words")
    return LanguageModel(path, lang, sp_path if os.path.isfile(sp_path) else None, not os.path.isfile(card_path),
                         unit)


def bucket(ppl: float, cutoffs: Dict[str, float]) -> str:
    if ppl < cutoffs["head"]:
        return "head"
    return "middle" if ppl < cutoffs["tail"] else "tail"


class PerplexityFilter(Operator):
    name = "perplexity"

    def __init__(self, config: PerplexityConfig) -> None:
        self.config = config
        self.cutoffs: Dict[str, Dict[str, float]] = {}

    def setup(self) -> None:
        self.cutoffs = load_cutoffs(self.config.resolved_cutoffs_file())

    def process(self, batch: pa.Table) -> Outcome:
        texts = batch.column("text").to_pylist()
        langs = batch.column("lang").to_pylist()
        ppls: List[Optional[float]] = []
        buckets: List[Optional[str]] = []
        reasons: List[Optional[str]] = []
        notes: List[Optional[str]] = []
        for text, lang in zip(texts, langs):
            model = load_language_model(self.config.model_dir, lang or "")
            ppl = model.perplexity(text or "", self.config.max_line_chars) if model is not None else None
            cutoffs = self.cutoffs.get(lang or "")
            problem = "ppl:no_model" if model is None else "ppl:no_cutoff" if cutoffs is None else None
            if ppl is not None and math.isinf(ppl):
                ppl = None
            ppls.append(None if ppl is None else round(ppl, 1))
            if problem is not None:
                buckets.append(None)
                drop = self.config.missing_model == "drop"
                reasons.append(problem if drop else None)
                notes.append(None if drop else problem)
                continue
            if ppl is None:  # no words at all: the quality filter should have removed it
                buckets.append(None)
                reasons.append("ppl:no_words")
                notes.append(None)
                continue
            buckets.append(bucket(ppl, cutoffs))
            reasons.append("ppl:above_max" if ppl > cutoffs["max"] else None)
            notes.append(None)
        table = batch.append_column("ppl", pa.array(ppls, type=pa.float32()))
        table = table.append_column("ppl_bucket", pa.array(buckets, type=pa.string()))
        return Outcome(table, reasons, notes)


__all__ = ["PerplexityConfig", "PerplexityFilter", "LanguageModel", "load_language_model", "load_cutoffs",
           "available_languages", "bucket", "CUTOFFS_FILE"]
