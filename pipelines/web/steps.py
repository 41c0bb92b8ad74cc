"""The web pipeline's steps, in order (paper §3.1.1):

    WarcReader → UrlFilter → extraction (fast or trafilatura engine) → LanguageIdFilter → QualityFilter
    → PerplexityFilter → Decontaminate

The perplexity step runs when ``perplexity.model_dir`` is set, decontamination when ``decontamination.benchmarks``
names benchmark files (last: it is the only step that compares with another corpus, so it sees the fewest
documents). The URL filter runs before extraction, as the
paper puts it, "to avoid subsequent computationally expensive processing": a blocked URL costs nothing to
drop, while extraction is most of the CPU time. A new web step is an operator in ``operators/web/`` and a
line here; its config section goes in ``pipelines/web/config.py``.
"""

from __future__ import annotations

from operators.decontamination.filter import Decontaminate
from operators.web.extract import make_extractor
from operators.web.langid import LanguageIdFilter
from operators.web.perplexity import PerplexityFilter
from operators.web.quality_filter import QualityFilter
from operators.web.url_filter import UrlFilter
from operators.web.warc_reader import WarcReader
from pipelines.runtime.executor import StepList
from pipelines.web.config import CurateConfig

PIPELINE_NAME = "curate_cc"


def web_steps(config: CurateConfig) -> StepList:
    operators = [
        UrlFilter(config.url_filter),
        make_extractor(config.extract),
        LanguageIdFilter(config.langid),
        QualityFilter(config.quality),
    ]
    if config.perplexity.enabled:
        operators.append(PerplexityFilter(config.perplexity))
    if config.decontamination.enabled:
        operators.append(Decontaminate(config.decontamination))
    return StepList.of(WarcReader(config.reader), *operators, drops=config.drops)
