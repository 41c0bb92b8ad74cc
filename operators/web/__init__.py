"""Web curation steps, in pipeline order (``pipelines/web/steps.py`` chains them; paper §3.1.1):

* :class:`WarcReader` (source) — WARC/WET records, local or remote, damage counted (``warc_reader.py``;
  split by FastWARC where it reads a record as warcio would, ``warc_fastwarc.py``; HTML decoding in
  ``html_decoding.py``);
* :class:`UrlFilter` — blocked domains and banned words in URLs (``url_filter.py``);
* :func:`make_extractor` — main text, by the fast engine (``fast_extract/``) or trafilatura (``extract.py``);
* :class:`LanguageIdFilter` — fastText lid.176 with the confusable-pair disambiguator (``langid.py``,
  ``lid_disambiguation.py``);
* :class:`QualityFilter` — 26 signals, 28 per-language rules (``quality_filter.py``, ``quality_signals.py``,
  ``quality_thresholds.py``);
* :class:`PerplexityFilter` — KenLM perplexity with cc_net's buckets (``perplexity.py``).
"""

from common.lazy_exports import lazy_exports

_MODULES = {
    "WarcReader": "warc_reader",
    "UrlFilter": "url_filter",
    "make_extractor": "extract",
    "FastExtractor": "extract",
    "TrafilaturaExtractor": "extract",
    "LanguageIdFilter": "langid",
    "QualityFilter": "quality_filter",
    "PerplexityFilter": "perplexity",
}

__getattr__, __all__ = lazy_exports(__name__, _MODULES)
