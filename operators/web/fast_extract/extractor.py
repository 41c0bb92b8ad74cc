"""The fast extraction engine: parse with lexbor, cut into blocks, keep the blocks the classifier calls main
content, and say how sure it is (for the cascade in :mod:`operators.web.extract`).

Steps (each its own module): :mod:`.blocks` (one DOM walk) → :mod:`.features` → :mod:`.model` → the kept
blocks joined by line breaks. Deterministic: the output depends on the page bytes and the model file only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from operators.web.fast_extract.blocks import page_blocks
from operators.web.fast_extract.features import page_features
from operators.web.fast_extract.model import BlockModel


@dataclass
class FastResult:
    text: str                 # "" when nothing was kept
    uncertainty: float        # share of the page's candidate text whose verdict was close to the threshold
    blocks: int
    too_many_nodes: bool = False


def extract_blocks(html: str, model: BlockModel, max_dom_nodes: int, margin: float) -> FastResult:
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    page = page_blocks(tree, max_dom_nodes)
    if page is None:
        return FastResult("", 0.0, 0, too_many_nodes=True)
    if not page.texts:
        return FastResult("", 0.0, 0)
    probabilities = model.probabilities(page_features(page))
    threshold = model.threshold_probability
    keep = probabilities >= threshold
    chars = np.asarray([len(text) for text in page.texts], dtype=np.float64)
    close = np.abs(probabilities - threshold) < margin
    kept_chars = chars[keep].sum()
    # Uncertainty: chars of blocks near the threshold, relative to the text kept (at least 200 chars, so a
    # page with almost nothing kept but much in doubt counts as unsure).
    uncertainty = float(chars[close].sum() / max(kept_chars, 200.0))
    text = "\n".join(text for text, kept in zip(page.texts, keep) if kept)
    return FastResult(text, uncertainty, len(page.texts))


def block_probabilities(html: str, model: Optional[BlockModel], max_dom_nodes: int):
    """(page, features, probabilities) of one page; for training and inspection."""
    from selectolax.lexbor import LexborHTMLParser

    page = page_blocks(LexborHTMLParser(html), max_dom_nodes)
    if page is None:
        return None, None, None
    features = page_features(page)
    return page, features, (model.probabilities(features) if model is not None else None)
