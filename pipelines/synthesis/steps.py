"""The checks every generated document goes through, in the executor seam (``pipelines/runtime/executor.py``):

    SynthesisSource (the journal's answers → documents)  reasons: synth:request_failed, synth:bad_reply,
                                                          synth:empty_reply, synth:not_answered
      → RequestedLanguage (lid.176: the requested language must be the produced one)
                                                          synth:wrong_language, lang_low_confidence
      → TemplateQuality (the web quality filter, on the templates of quality_templates)   quality:<rule>
      → Decontaminate (when decontamination.benchmarks are set)                         contaminated:<name>

A row's ``text`` is the document; ``generated`` is what the model wrote (for a translation, its translated
parts only): the language and quality checks judge ``generated``, decontamination the whole ``text`` (the kept
parts of a translated record may hold a benchmark item too).
"""

from __future__ import annotations

import json
from typing import Iterator, List, Optional, Sequence, Tuple

import pyarrow as pa

from operators.base import Outcome, OutcomeBatcher, Reason, Source
from operators.decontamination.filter import Decontaminate
from operators.web.langid import LanguageIdConfig, LanguageIdFilter
from operators.web.quality_filter import QualityConfig, QualityFilter
from pipelines.runtime.executor import StepList
from pipelines.synthesis.config import SynthesisConfig
from pipelines.synthesis.journal import Journal
from pipelines.synthesis.plan import Planned
from pipelines.synthesis.templates import TRANSLATION, strip_echo

SCHEMA = pa.schema([("id", pa.string()), ("text", pa.string()), ("generated", pa.string()), ("lang", pa.string()),
                    ("prompt_id", pa.string()), ("template", pa.string()), ("attributes", pa.string()),
                    ("model", pa.string()), ("source", pa.string()), ("source_id", pa.string()),
                    ("src_lang", pa.string()), ("tgt_lang", pa.string())])
WRONG_LANGUAGE = "synth:wrong_language"


def _answer(document: Planned, journal: Journal) -> Tuple[Optional[List[str]], Optional[str], Optional[str]]:
    """(texts of the document's requests, model, None) or (None, model, reason)."""
    texts, model = [], None
    for request in document.requests:
        entry = journal.get(request.prompt_id, request.sha)
        if entry is None:
            return None, model, "synth:not_answered"
        model = entry.get("model") or model
        if not isinstance(entry.get("response"), str):
            return None, model, str(entry.get("error") or "synth:request_failed")
        text = strip_echo(entry["response"], document.template)
        if not text:
            return None, model, "synth:empty_reply"
        texts.append(text)
    return texts, model, None


def document_row(document: Planned, journal: Journal, model: str) -> Tuple[dict, Reason]:
    texts, answered_by, reason = _answer(document, journal)
    generated = text = None
    if texts is not None:
        generated = "\n\n".join(texts)
        text = generated
        if document.template == TRANSLATION:
            translated = dict(zip(document.translated, texts))
            text = "\n\n".join(translated.get(role, part) for role, part in document.parts)
    row = {"id": document.id, "text": text, "generated": generated, "lang": document.lang,
           "prompt_id": ",".join(r.prompt_id for r in document.requests), "template": document.template,
           "attributes": json.dumps(document.attributes, ensure_ascii=False, sort_keys=True),
           "model": answered_by or model, "source": document.source, "source_id": document.source_id,
           "src_lang": document.src_lang, "tgt_lang": document.tgt_lang}
    return row, reason


class SynthesisSource(Source):
    """Reads the journal named by the location; one row per planned document, in plan order."""

    name = "synthesis"

    def __init__(self, documents: Sequence[Planned], model: str, batch_size: int = 256) -> None:
        self.documents = documents
        self.model = model
        self.batch_size = batch_size

    def read(self, location: str) -> Iterator[Outcome]:
        with Journal(location) as journal:
            batcher = OutcomeBatcher(self.batch_size, SCHEMA)
            yield from batcher.batches(document_row(d, journal, self.model) for d in self.documents)


class RequestedLanguage(LanguageIdFilter):
    """lid.176 (with the confusable-pair disambiguation) on what the model wrote: a language other than the
    requested ``lang`` is ``synth:wrong_language``, the requested one under its score threshold
    ``lang_low_confidence``. Adds ``lang_detected`` and ``lang_score``; ``lang`` stays the requested one."""

    name = "langid"

    def __init__(self, config: LanguageIdConfig, column: str = "generated") -> None:
        super().__init__(config)
        self.column = column

    def process(self, batch: pa.Table) -> Outcome:
        assert self.identifier is not None, "setup() not called"
        found = self.identifier.identify(batch.column(self.column).to_pylist())
        reasons: List[Reason] = []
        for (lang, score), wanted in zip(found, batch.column("lang").to_pylist()):
            if lang != wanted:
                reasons.append(WRONG_LANGUAGE)
            elif score < self._threshold(lang):
                reasons.append("lang_low_confidence")
            else:
                reasons.append(None)
        table = batch.append_column("lang_detected", pa.array([lang for lang, _ in found], type=pa.string()))
        table = table.append_column("lang_score", pa.array([round(s, 4) for _, s in found], type=pa.float32()))
        return Outcome(table, reasons)


class TemplateQuality(QualityFilter):
    """The quality filter on the ``generated`` text of rows whose template is in ``templates``; other rows pass
    unjudged (their ``q_*`` signals are null)."""

    def __init__(self, config: QualityConfig, templates: Sequence[str], column: str = "generated") -> None:
        super().__init__(config)
        self.templates = frozenset(templates)
        self.column = column

    def process(self, batch: pa.Table) -> Outcome:
        picked = [i for i, t in enumerate(batch.column("template").to_pylist()) if t in self.templates]
        judged = super().process(pa.table({"text": batch.column(self.column).take(picked),
                                           "lang": batch.column("lang").take(picked)}))
        reasons: List[Reason] = [None] * batch.num_rows
        for row, reason in zip(picked, judged.reasons or []):
            reasons[row] = reason
        table = batch
        for name in judged.table.column_names:
            if name in ("text", "lang"):
                continue
            values: list = [None] * batch.num_rows
            for row, value in zip(picked, judged.table.column(name).to_pylist()):
                values[row] = value
            column = pa.array(values, type=judged.table.schema.field(name).type)
            if name in table.column_names:
                table = table.set_column(table.column_names.index(name), name, column)
            else:
                table = table.append_column(name, column)
        return Outcome(table, reasons)


def synthesis_steps(config: SynthesisConfig, documents: Sequence[Planned]) -> StepList:
    operators: list = [RequestedLanguage(config.langid)]
    if config.quality_templates:
        operators.append(TemplateQuality(config.quality, config.quality_templates))
    if config.decontamination.enabled:
        operators.append(Decontaminate(config.decontamination))
    return StepList.of(SynthesisSource(documents, config.endpoint.model, config.batch_size), *operators,
                       drops=config.drops)


__all__ = ["SCHEMA", "WRONG_LANGUAGE", "RequestedLanguage", "SynthesisSource", "TemplateQuality", "document_row",
           "synthesis_steps"]
