"""Parallel-data steps (paper §3.1.2; ``pipelines/parallel/`` runs them):

* :class:`BitextReader` (source) — OPUS Moses, TSV, TMX and CCAligned files (``bitext_reader.py``);
* :class:`PairFilter` — the heuristic pair filters (``pair_filters.py``);
* :class:`SimilarityScorer` — cosine and ratio margin of LASER or USE embeddings (``similarity.py``).

``translation_templates.py`` holds Table 13's templates the pairs are rendered into.
"""

from common.lazy_exports import lazy_exports

_MODULES = {
    "BitextReader": "bitext_reader",
    "PairFilter": "pair_filters",
    "SimilarityScorer": "similarity",
}

__getattr__, __all__ = lazy_exports(__name__, _MODULES)
