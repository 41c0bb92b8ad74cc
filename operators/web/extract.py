"""Main-content extraction (paper §3.1.1: "extract the main contents"), with two engines.

``engine: trafilatura`` runs trafilatura on lxml. ``engine: fast`` (the default) runs the block classifier of
:mod:`operators.web.fast_extract` on lexbor's DOM (selectolax) and, as a cascade, hands the pages it is unsure
of to trafilatura (``fast_fallback_uncertainty``); a page where it is sure that nothing is main content is
``no_content`` without asking trafilatura (``fast_fallback_when_empty`` asks it). Kept rows carry the note
``extract:fast`` or ``extract:fallback``, so the statistics show the share of each path. Both give the same
``text`` column and the same reasons.

trafilatura's settings, and why:
* ``include_comments=False``: user comments are not the page's main content; on the Trafilatura
  evaluation pages this scores higher than the defaults (see ``tests/operators/web/test_extraction_quality.py``).
* ``deduplicate=False``: trafilatura's deduplication keeps an LRU cache *across documents*, which
  makes a document's text depend on what the worker saw before it, i.e. on chunking and scheduling.
  Output must not depend on those (determinism); cross-document duplicates are the dedup stage's job.
* ``favor_precision=True`` (datatrove's choice too): less boilerplate in pretraining text, and it
  skips trafilatura's second, recall-oriented pass on short results: 10–20 % less CPU on the shared
  WARCs. On the Trafilatura evaluation pages it scores 0.926 against 0.923 for trafilatura's defaults.
  Tables are kept.

Limits, deterministic first (they depend on the input only, never on machine load):
* ``max_html_bytes``: larger pages are dropped as ``too_large`` before parsing.
* ``max_dom_nodes``: pages whose parsed tree has more elements are dropped as ``too_many_nodes``
  (trafilatura's own ``max_tree_size`` idea, counted separately instead of looking like no content).
* ``timeout_s``: a generous wall-clock backstop for trafilatura (``extract_timeout``), off when 0; it only
  fires on pathological pages, so it rarely makes runs differ. Works where the operator runs on the main
  thread (in-process runs and Ray tasks); elsewhere it is skipped. The fast engine has no timeout: its cost
  is linear in the page's size.

Rows that already have ``text`` (WET records) pass through. ``html`` is dropped from the output.
Other reason: ``no_content`` (nothing extracted, or the page does not parse).
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Optional

import pyarrow as pa

from common.config_check import ConfigError, ConfigPath
from operators.base import Operator, Outcome

ENGINES = ("trafilatura", "fast")
FAST_PATH, FALLBACK_PATH = "extract:fast", "extract:fallback"


@dataclass
class ExtractConfig:
    engine: str = "fast"
    # fast engine: the block model (None = the one shipped in operators/resources/extraction/) and the
    # cascade: a page whose uncertainty (text of blocks near the decision threshold, relative to the text kept,
    # or to 200 characters where nothing is kept) is above this goes to trafilatura. At 2.0, 7 of the 577
    # Trafilatura evaluation pages fall back (1.2 %); lower values send more pages to trafilatura (26 at 1.0)
    # with no gain on the pages held apart from training (bench/NOTES.md, "Choosing the fallback").
    fast_model_path: Optional[ConfigPath] = None
    fast_fallback_uncertainty: float = 2.0
    # Where the classifier keeps nothing and is sure of it, the page is no_content; true sends every such page
    # to trafilatura as well (more recall on listing and index pages, at trafilatura's cost: on the shared
    # WARCs 40 of 198 pages, 2.5x the whole pipeline's CPU, for 2 more documents kept after the quality filter).
    fast_fallback_when_empty: bool = False
    max_html_bytes: int = 2_000_000
    max_dom_nodes: int = 100_000
    timeout_s: float = 60.0
    include_comments: bool = False
    include_tables: bool = True
    favor_precision: bool = True
    favor_recall: bool = False

    def resolved_fast_model_path(self) -> Path:
        from operators.web.fast_extract.model import DEFAULT_MODEL

        return Path(self.fast_model_path) if self.fast_model_path else DEFAULT_MODEL

    def load_fast_model(self):
        """The fast engine's block model; a missing or mismatched file is one ConfigError naming it."""
        from operators.web.fast_extract.model import load_block_model

        return load_block_model(self.resolved_fast_model_path())

    def validate(self) -> None:
        self.check_settings()
        if self.engine == "fast":
            self.load_fast_model()

    def check_settings(self) -> None:
        """Everything validate() checks except reading the model file (the fast engine reads it once itself)."""
        if self.engine not in ENGINES:
            raise ConfigError(f"engine: {self.engine!r} is not one of {', '.join(ENGINES)}")
        if self.fast_fallback_uncertainty < 0:
            raise ConfigError("fast_fallback_uncertainty: must be >= 0")
        if self.max_html_bytes <= 0 or self.max_dom_nodes <= 0:
            raise ConfigError("max_html_bytes and max_dom_nodes: must be positive")
        if self.timeout_s < 0:
            raise ConfigError("timeout_s: must be >= 0 (0 disables it)")
        if self.favor_precision and self.favor_recall:
            raise ConfigError("favor_precision and favor_recall: choose at most one")


class _Timeout(Exception):
    pass


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum, frame):
        raise _Timeout()

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class _Extractor(Operator):
    """The row loop both engines share; ``extract_one`` is the engine."""

    name = "extract"

    def __init__(self, config: ExtractConfig) -> None:
        config.check_settings()
        self.config = config

    def extract_one(self, html: str, url: Optional[str]) -> tuple[Optional[str], Optional[str]]:
        """(text, None) or (None, reason) for one page."""
        text, reason, _path = self.extract_with_path(html, url)
        return text, reason

    def extract_with_path(self, html: str, url: Optional[str]) -> tuple[Optional[str], Optional[str], Optional[str]]:
        raise NotImplementedError

    def process(self, batch: pa.Table) -> Outcome:
        htmls = batch.column("html").to_pylist()
        texts = batch.column("text").to_pylist()
        urls = batch.column("url").to_pylist()
        out_texts: List[Optional[str]] = []
        reasons: List[Optional[str]] = []
        notes: List[Optional[str]] = []
        for html, text, url in zip(htmls, texts, urls):
            if text is not None:  # WET: already text
                out_texts.append(text)
                reasons.append(None if text.strip() else "no_content")
                notes.append(None)
                continue
            if html is None:
                out_texts.append(None)
                reasons.append("no_content")
                notes.append(None)
                continue
            extracted, reason, path = self.extract_with_path(html, url)
            out_texts.append(extracted)
            reasons.append(reason)
            notes.append(path if reason is None else None)
        table = batch.drop_columns(["html", "text"]).append_column(
            "text", pa.array(out_texts, type=pa.string())
        )
        return Outcome(table, reasons, notes if any(notes) else None)


class TrafilaturaExtractor(_Extractor):
    def extract_with_path(self, html: str, url: Optional[str]) -> tuple[Optional[str], Optional[str], Optional[str]]:
        if _too_large(html, self.config.max_html_bytes):
            return None, "too_large", None
        text, reason = trafilatura_text(html, url, self.config)
        return text, reason, None


def _too_large(html: str, max_bytes: int) -> bool:
    """More than ``max_bytes`` in UTF-8. A character takes at most 4 bytes, so most pages are decided by their
    length alone, without encoding them."""
    if 4 * len(html) <= max_bytes:
        return False
    return len(html.encode("utf-8", errors="ignore")) > max_bytes


def trafilatura_text(html: str, url: Optional[str], config: ExtractConfig) -> tuple[Optional[str], Optional[str]]:
    """trafilatura with our settings and limits: (text, None) or (None, reason)."""
    from trafilatura import extract
    from trafilatura.utils import load_html

    try:
        with _time_limit(config.timeout_s):
            tree = load_html(html)
            if tree is None:
                return None, "no_content"
            if sum(1 for _ in tree.iter()) > config.max_dom_nodes:
                return None, "too_many_nodes"
            text = extract(
                tree,
                url=url,
                include_comments=config.include_comments,
                include_tables=config.include_tables,
                favor_precision=config.favor_precision,
                favor_recall=config.favor_recall,
                deduplicate=False,
                with_metadata=False,
                output_format="txt",
            )
    except _Timeout:
        return None, "extract_timeout"
    if not text or not text.strip():
        return None, "no_content"
    return text, None


class FastExtractor(_Extractor):
    """The block classifier, with trafilatura for the pages it is unsure of (see the module docstring)."""

    def __init__(self, config: ExtractConfig) -> None:
        super().__init__(config)
        # Loaded here, not in setup(): a missing or mismatched model file is a configuration error, reported
        # before any work starts.
        self.model = config.load_fast_model()

    def extract_with_path(self, html: str, url: Optional[str]) -> tuple[Optional[str], Optional[str], Optional[str]]:
        from operators.web.fast_extract.extractor import extract_blocks

        if _too_large(html, self.config.max_html_bytes):
            return None, "too_large", None
        result = extract_blocks(html, self.model, self.config.max_dom_nodes, margin=_UNCERTAIN_MARGIN)
        if result.too_many_nodes:
            return None, "too_many_nodes", None
        if result.uncertainty <= self.config.fast_fallback_uncertainty:
            if result.text:
                return result.text, None, FAST_PATH
            if not self.config.fast_fallback_when_empty:
                return None, "no_content", None  # sure that nothing on the page is main content
        text, reason = trafilatura_text(html, url, self.config)
        if reason == "no_content" and result.text:
            return result.text, None, FAST_PATH
        return text, reason, FALLBACK_PATH if reason is None else None


# Blocks whose probability is within this of the decision threshold count as uncertain.
_UNCERTAIN_MARGIN = 0.25


def make_extractor(config: ExtractConfig) -> _Extractor:
    """The extraction operator of ``config.engine`` (its constructor checks the config and reads the model)."""
    return FastExtractor(config) if config.engine == "fast" else TrafilaturaExtractor(config)
