"""SFT-data steps (paper §4.1.1; ``pipelines/sft/`` runs them):

* :class:`SftReader` (source) — messages, Alpaca and ShareGPT records into one conversation format
  (``reader.py``);
* :class:`SftCleaner` — the cleaning rules (``cleaning.py``, arithmetic checked by ``safe_arithmetic.py``);
* :class:`SftScorer` — pluggable score hooks with thresholds (``scoring.py``).
"""

from common.lazy_exports import lazy_exports

_MODULES = {
    "SftReader": "reader",
    "SftCleaner": "cleaning",
    "SftScorer": "scoring",
}

__getattr__, __all__ = lazy_exports(__name__, _MODULES)
