"""What a run asks for: every output document planned before the first request, deterministically from the
configuration, the seed and the inputs (so a rerun plans the same prompts under the same ids).

* ``explanation-NNNNNN`` / ``story-NNNNNN``: Table 14's keyword templates, a keyword set per prompt
  (:class:`~pipelines.synthesis.keywords.KeywordGroups`) and the attributes drawn for the prompt id.
* ``few_shot-NNNNNN``: the few-shot template with ``shots`` given samples of one language and domain; the
  first sample is drawn from all samples (so a language or domain is asked for as often as it has samples),
  the others from its language and domain.
* ``translation-<record id>-<lang>``: a record's part (``translate: one``, drawn by the seed) or every part
  (``all``) translated into a target language; each part is one request, ``<document id>/<part>``.

Input records that cannot become a document (no text, an unknown language, a duplicate id, too long) are
counted under their reason by the ``synth_inputs`` step, as are the keywords of the pool.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from operators.sft.reader import read_records
from pipelines.synthesis.config import SynthesisConfig
from pipelines.synthesis.journal import prompt_digest
from pipelines.synthesis.keywords import Keyword, KeywordGroups
from pipelines.synthesis.templates import (EXPLANATION, FEW_SHOT, STORY, TEMPLATE_ATTRIBUTES, TRANSLATION,
                                           attribute_rng, draw_attributes, render_few_shot_prompt,
                                           render_keyword_prompt, render_translation_prompt)


@dataclass
class Request:
    prompt_id: str
    prompt: str
    temperature: float
    sha: str = ""

    @property
    def messages(self) -> List[dict]:
        return [{"role": "user", "content": self.prompt}]


@dataclass
class Planned:
    """One output document: the requests whose answers make it, and how."""

    id: str
    template: str
    lang: str
    attributes: dict
    source: str
    requests: List[Request]
    # Translations: the record's parts in order, (role, text); the translated roles; the record and the pair.
    parts: Optional[List[Tuple[str, str]]] = None
    translated: Sequence[str] = ()
    source_id: Optional[str] = None
    src_lang: Optional[str] = None
    tgt_lang: Optional[str] = None


@dataclass
class Plan:
    documents: List[Planned] = field(default_factory=list)
    # synth_inputs: entries read (keywords, samples, records) and the reasons some were not used.
    inputs_read: int = 0
    input_reasons: Counter = field(default_factory=Counter)

    @property
    def inputs_used(self) -> int:
        return self.inputs_read - sum(self.input_reasons.values())

    def requests(self) -> List[Request]:
        return [request for document in self.documents for request in document.requests]


def _request(config: SynthesisConfig, prompt_id: str, prompt: str, template: str) -> Request:
    temperature = config.temperature(template)
    request = Request(prompt_id, prompt, temperature)
    request.sha = prompt_digest(request.messages, temperature, config.endpoint.model, config.endpoint.max_tokens)
    return request


def _choice(seed: int, prompt_id: str, name: str, values: Sequence):
    return values[attribute_rng(seed, prompt_id, name).randrange(len(values))]


def keyword_documents(config: SynthesisConfig, pool: Sequence[Keyword], source: str) -> List[Planned]:
    documents = []
    for template, section in ((EXPLANATION, config.explanation), (STORY, config.story)):
        if not section.prompts:
            continue
        groups = KeywordGroups(pool, config.keywords.per_prompt, config.seed, template)
        values = config.template_attributes(template)
        for i in range(section.prompts):
            prompt_id = f"{template}-{i:06d}"
            keywords = groups(i)
            names = [n for n in TEMPLATE_ATTRIBUTES[template] if n != "language"]
            attributes = draw_attributes(config.seed, prompt_id, names, values)
            if keywords[0].subject:
                attributes["subject"] = keywords[0].subject
            attributes["language"] = keywords[0].language or _choice(config.seed, prompt_id, "language",
                                                                     config.languages)
            attributes["keywords"] = [k.keyword for k in keywords]
            prompt = render_keyword_prompt(template, attributes, attributes["keywords"])
            documents.append(Planned(prompt_id, template, attributes["language"], attributes, source,
                                     [_request(config, prompt_id, prompt, template)]))
    return documents


def _field(record: dict, name: Optional[str]):
    return record.get(name) if name else None


def few_shot_documents(config: SynthesisConfig, plan: Plan) -> List[Planned]:
    section = config.few_shot
    targets = set(config.langid.target_languages)
    samples: List[Tuple[str, str, str, str, str]] = []   # (id, text, lang, domain, file)
    for location in section.samples:
        for number, record, problem in read_records(location):
            plan.inputs_read += 1
            text = _field(record, section.text_field) if problem is None and isinstance(record, dict) else None
            if problem is None and (not isinstance(text, str) or not text.strip()):
                problem = "few_shot:no_text"
            if problem is None and len(text) > section.max_sample_chars:
                problem = "few_shot:too_long"
            lang = str(_field(record, section.lang_field) or section.language) if problem is None else ""
            if problem is None and lang not in targets:
                problem = "few_shot:unknown_language"
            if problem is not None:
                plan.input_reasons[problem] += 1
                continue
            given = _field(record, section.id_field)
            sample_id = str(given) if given not in (None, "") else f"{os.path.basename(location)}:{number}"
            samples.append((sample_id, text.strip(), lang, str(_field(record, section.domain_field) or ""), location))
    if not samples or not section.prompts:
        return []
    groups: Dict[Tuple[str, str], List[int]] = {}
    for i, sample in enumerate(samples):
        groups.setdefault((sample[2], sample[3]), []).append(i)
    documents = []
    for n in range(section.prompts):
        prompt_id = f"{FEW_SHOT}-{n:06d}"
        first = attribute_rng(config.seed, prompt_id, "first_sample").randrange(len(samples))
        lang, domain = samples[first][2], samples[first][3]
        others = [i for i in groups[(lang, domain)] if i != first]
        chosen = [first] + attribute_rng(config.seed, prompt_id, "samples").sample(
            others, min(len(others), section.shots - 1))
        attributes = {"language": lang, "domain": domain or None, "shots": [samples[i][0] for i in chosen]}
        prompt = render_few_shot_prompt([samples[i][1] for i in chosen], lang)
        documents.append(Planned(prompt_id, FEW_SHOT, lang, attributes, samples[first][4],
                                 [_request(config, prompt_id, prompt, FEW_SHOT)]))
    return documents


def _id_part(value: str) -> str:
    """``value`` as a piece of an id (letters, digits, ``._:-``); with a digest of it where it had to change, so
    two record ids never become one."""
    safe = "".join(c if c.isalnum() or c in "._:-" else "_" for c in value)[:120]
    return safe if safe == value else f"{safe}~{hashlib.sha256(value.encode('utf-8')).hexdigest()[:10]}"


def translation_documents(config: SynthesisConfig, plan: Plan) -> List[Planned]:
    section = config.translation
    targets = set(config.langid.target_languages)
    documents: List[Planned] = []
    seen = set()
    for location in section.inputs:
        for number, record, problem in read_records(location):
            plan.inputs_read += 1
            if problem is None and not isinstance(record, dict):
                problem = "translation:no_fields"
            parts: List[Tuple[str, str]] = []
            if problem is None:
                for role, name in section.fields.items():
                    value = record.get(name)
                    if isinstance(value, str) and value.strip():
                        parts.append((role, value.strip()))
                if not parts:
                    problem = "translation:no_fields"
            src = str(_field(record, section.lang_field) or section.source_language) if problem is None else ""
            if problem is None and src not in targets:
                problem = "translation:unknown_language"
            given = _field(record, section.id_field) if problem is None else None
            source_id = str(given) if given not in (None, "") else f"{os.path.basename(location)}:{number}"
            if problem is None and source_id in seen:
                problem = "translation:duplicate_id"
            if problem is None:
                short = [role for role, text in parts if len(text) <= section.max_chars]
                if (section.translate == "all" and len(short) < len(parts)) or not short:
                    problem = "translation:too_long"
            if problem is not None:
                plan.input_reasons[problem] += 1
                continue
            seen.add(source_id)
            candidates = [lang for lang in section.target_languages if lang != src]
            if not candidates:
                plan.input_reasons["translation:no_target_language"] += 1
                continue
            chosen = attribute_rng(config.seed, source_id, "target_languages").sample(
                candidates, min(section.languages_per_record, len(candidates)))
            for tgt in chosen:
                doc_id = f"{TRANSLATION}-{_id_part(source_id)}-{tgt}"
                roles = short if section.translate == "one" else [role for role, _ in parts]
                if section.translate == "one":
                    roles = [_choice(config.seed, doc_id, "part", roles)]
                texts = dict(parts)
                requests = [_request(config, f"{doc_id}/{role}", render_translation_prompt(texts[role], src, tgt),
                                     TRANSLATION) for role in roles]
                attributes = {"source_id": source_id, "src_lang": src, "tgt_lang": tgt, "translated": roles}
                documents.append(Planned(doc_id, TRANSLATION, tgt, attributes, location, requests, parts, roles,
                                         source_id, src, tgt))
    return documents


__all__ = ["Plan", "Planned", "Request", "few_shot_documents", "keyword_documents", "translation_documents"]
