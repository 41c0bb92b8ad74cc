"""The fast extraction engine: parse with lexbor, cut into blocks, keep the blocks the classifier calls main
content, and say how sure it is (for the cascade in :mod:`operators.web.extract`).

Steps (each its own module): :mod:`.blocks` (one DOM walk) → :mod:`.features` → :mod:`.model` (two stages) →
the kept blocks joined by line breaks. Deterministic: the output depends on the page and the model file only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from operators.web.fast_extract.blocks import Page, page_blocks
from operators.web.fast_extract.features import context_features, page_features
from operators.web.fast_extract.model import BlockClassifier


@dataclass
class FastResult:
    text: str                 # "" when nothing was kept
    uncertainty: float        # text near the decision threshold, relative to the text kept
    blocks: int
    too_many_nodes: bool = False


@dataclass
class ScoredPage:
    page: Page
    features: np.ndarray      # stage 1 features
    context: np.ndarray       # stage 2's extra columns
    probabilities: np.ndarray


def parse_page(html: str, max_dom_nodes: int) -> Optional[Page]:
    from selectolax.lexbor import LexborHTMLParser

    return page_blocks(LexborHTMLParser(html), max_dom_nodes)


def score_page(page: Page, model: BlockClassifier) -> ScoredPage:
    features = page_features(page)
    first = model.stage1.probabilities(features.values)
    context = context_features(features, first)
    return ScoredPage(page, features.values, context, model.stage2.probabilities(np.hstack([features.values, context])))


def extract_blocks(html: str, model: BlockClassifier, max_dom_nodes: int, margin: float) -> FastResult:
    page = parse_page(html, max_dom_nodes)
    if page is None:
        return FastResult("", 0.0, 0, too_many_nodes=True)
    if not page.texts:
        return FastResult("", 0.0, 0)
    probabilities = score_page(page, model).probabilities
    keep = probabilities >= model.threshold
    chars = np.fromiter(map(len, page.texts), dtype=np.float64, count=len(page.texts))
    close = np.abs(probabilities - model.threshold) < margin
    # Chars of blocks near the threshold, relative to the text kept (at least 200 chars, so a page with
    # almost nothing kept but much in doubt counts as unsure).
    uncertainty = float(chars[close].sum() / max(chars[keep].sum(), 200.0))
    text = "\n".join(text for text, kept in zip(page.texts, keep) if kept)
    return FastResult(text, uncertainty, len(page.texts))
