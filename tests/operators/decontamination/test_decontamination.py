"""Benchmark decontamination on real text: FLORES-200 dev as the benchmark, planted into NTREX-128 and
Leipzig documents (tests/fixtures/planted_contamination.py).

Targets: exact copies and copies with small edits caught >= 98 %, in every language FLORES has here (so its
parallel versions are exact keys); translations into a language the benchmark lacks caught by the USE
embedding check (>= 0.93 on average, every language >= 0.85: Universal Sentence Encoder ranks topic close to
translation, so its thresholds sit high); clean documents dropped <= 0.5 %.
"""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from common.languages import FLORES_CODES
from operators.decontamination.benchmarks import BenchmarkConfig
from operators.decontamination.filter import CrossLingualConfig, Decontaminate, DecontaminationConfig
from operators.embeddings.encoders import USE_LANGUAGES
from tests.fixtures.planted_contamination import (clean_documents, flores, planted, sample_lines, small_edits)
from tests.fixtures.shared_data import shared_path

LANGS = sorted(FLORES_CODES)
USE_LANGS = sorted(lang for lang in USE_LANGUAGES if lang in FLORES_CODES)



def operator(langs=None, encoder=None, action="drop"):
    benchmark = BenchmarkConfig(name="flores", path=str(shared_path("flores200_dev")), format="flores",
                                lang=",".join(langs) if langs else None)
    config = DecontaminationConfig(benchmarks=[benchmark], action=action,
                                   cross_lingual=CrossLingualConfig(encoder=encoder))
    config.validate()
    config.check_files()
    step = Decontaminate(config)
    step.setup()
    return step


def caught(step, docs, lang):
    table = pa.table({"text": docs, "lang": [lang] * len(docs)})
    outcome = step.process(table)
    return [r is not None for r in outcome.reasons], outcome


def test_exact_and_edited_copies_in_every_language():
    step = operator()
    rng = random.Random(7)
    exact_rates, edited_rates, clean_rates = {}, {}, {}
    for lang in LANGS:
        sentences = flores(lang)
        lines = sample_lines(120, seed=sum(map(ord, lang)))
        exact = planted(lang, [(i, sentences[i]) for i in lines], rng)
        edited = planted(lang, [(i, small_edits(sentences[i], rng)) for i in lines], rng)
        hits, outcome = caught(step, [d for d, _ in exact], lang)
        assert set(r for r in outcome.reasons if r) <= {"contaminated:flores"}
        exact_rates[lang] = sum(hits) / len(hits)
        hits, _ = caught(step, [d for d, _ in edited], lang)
        edited_rates[lang] = sum(hits) / len(hits)
        clean = clean_documents(lang, 150)
        hits, _ = caught(step, clean, lang)
        clean_rates[lang] = (sum(hits), len(hits))
    print("\nexact copies caught:", {k: round(v, 3) for k, v in exact_rates.items()})
    print("edited copies caught:", {k: round(v, 3) for k, v in edited_rates.items()})
    print("clean documents dropped:", clean_rates)
    assert min(exact_rates.values()) >= 0.98
    assert sum(edited_rates.values()) / len(edited_rates) >= 0.98
    assert min(edited_rates.values()) >= 0.97
    dropped = sum(d for d, _ in clean_rates.values()) / sum(n for _, n in clean_rates.values())
    assert dropped <= 0.005


def test_translations_into_languages_the_benchmark_lacks():
    """Two halves of USE's languages: the benchmark holds one half's FLORES versions (and every language USE
    does not cover), the documents are in the other half."""
    halves = [USE_LANGS[0::2], USE_LANGS[1::2]]
    rates, clean = {}, [0, 0]
    rng = random.Random(11)
    for missing in halves:
        step = operator(langs=[l for l in LANGS if l not in missing], encoder="use")
        for lang in missing:
            sentences = flores(lang)
            docs = planted(lang, [(i, sentences[i]) for i in sample_lines(100, seed=len(lang) + ord(lang[0]))], rng)
            hits, outcome = caught(step, [d for d, _ in docs], lang)
            rates[lang] = sum(hits) / len(hits)
            hits, _ = caught(step, clean_documents(lang, 60), lang)
            clean[0] += sum(hits)
            clean[1] += len(hits)
    # A language USE does not cover is counted, never scored.
    outcome = step.process(pa.table({"text": clean_documents("vi", 3) + [flores("vi")[5]], "lang": ["vi"] * 4}))
    assert outcome.notes[:3] == ["sim:unsupported_lang"] * 3 and outcome.reasons == [None] * 3 + ["contaminated:flores"]
    print("\ntranslations caught:", {k: round(v, 3) for k, v in rates.items()})
    print("clean documents dropped:", clean)
    # The goal is 0.9 for every language; with USE Russian and Korean stay near it (bench/NOTES.md).
    assert sum(rates.values()) / len(rates) >= 0.93
    assert min(rates.values()) >= 0.85
    assert clean[0] / clean[1] <= 0.005


def test_cut_keeps_the_rest_of_a_page():
    step = operator(langs=["en"], action="cut")
    sentence = flores("en")[3]
    clean = clean_documents("en", 1)[0]
    outcome = step.process(pa.table({"text": [clean + " " + sentence + " " + clean], "lang": ["en"]}))
    assert outcome.reasons == [None] and outcome.notes == ["contaminated:flores"]
    text = outcome.table.column("text")[0].as_py()
    assert sentence[:-1] not in text and clean[:80] in text
