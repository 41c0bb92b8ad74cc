"""The shipped thresholds on real clean text and on corrupted copies of it, in all 29 languages.

Clean documents: NTREX-128 news articles and Leipzig web sentences (ten per document), neither of
which the shipped thresholds were derived from (those come from FLORES-200 dev). Leipzig sentences
with encoding damage already in the source (C1 controls, U+FFFD, UTF-8 shown through a single-byte
code page) are removed first: they are not clean text, and the filter rightly drops them.
"""

from collections import Counter

import pyarrow as pa
import pytest

from common.languages import TARGET_LANGUAGES
from operators.web.quality_filter import QualityConfig, QualityFilter
from pipelines.tools.reference_documents import documents
from tests.fixtures.quality_corruptions import CORRUPTIONS, encoding_damage
from tests.fixtures.shared_data import shared_path

MIN_KEPT_CLEAN = 0.95
MIN_DROPPED_CORRUPT = 0.90


@pytest.fixture(scope="module")
def quality_filter():
    op = QualityFilter(QualityConfig())
    op.setup()
    return op


@pytest.fixture(scope="module")
def clean_documents():
    data = shared_path("ntrex128").parent
    shared_path("mono_leipzig_lingua")
    per_language, damaged = {}, Counter()
    for lang in TARGET_LANGUAGES:
        docs = []
        for doc in documents("ntrex", str(data), lang) + documents("leipzig", str(data), lang):
            lines = doc.split("\n")
            kept = [line for line in lines if not encoding_damage(line)]
            damaged[lang] += len(lines) - len(kept)
            docs.append("\n".join(kept))
        per_language[lang] = docs
    print("\nsentences removed for encoding damage at the source:", dict(+damaged))
    return per_language


def reasons(op, docs, lang):
    return op.process(pa.table({"text": docs, "lang": [lang] * len(docs)})).reasons


@pytest.mark.slow
def test_clean_text_is_kept_and_corrupted_text_dropped_in_every_language(quality_filter, clean_documents):
    failures = []
    header = f"{'lang':<5}{'docs':>5}{'kept':>7}" + "".join(f"{name[:12]:>14}" for name in CORRUPTIONS)
    print("\n" + header + "   (kept share of clean docs; dropped share of each corruption)")
    for lang in TARGET_LANGUAGES:
        docs = clean_documents[lang]
        clean = reasons(quality_filter, docs, lang)
        kept = sum(r is None for r in clean) / len(docs)
        line = f"{lang:<5}{len(docs):>5}{kept:>7.3f}"
        if kept < MIN_KEPT_CLEAN:
            failures.append(f"{lang}: kept {kept:.3f} of clean documents; reasons {Counter(r for r in clean if r)}")
        for name, corrupt in CORRUPTIONS.items():
            bad = [c for c in (corrupt(d, i, lang) for i, d in enumerate(docs)) if c is not None]
            verdicts = reasons(quality_filter, bad, lang)
            dropped = sum(r is not None for r in verdicts) / len(bad)
            line += f"{dropped:>14.3f}"
            if dropped < MIN_DROPPED_CORRUPT:
                failures.append(f"{lang}/{name}: dropped {dropped:.3f} of {len(bad)}")
        print(line)
    assert not failures, "\n".join(failures)


def test_each_corruption_is_dropped_for_the_reason_that_describes_it(quality_filter, clean_documents):
    docs = clean_documents["de"]
    expected = {
        "repeated_lines": ("dup", "gram"),
        "boilerplate_only": ("short_line", "terminal_punct", "word_count", "stop_word"),
        "mojibake": ("mojibake", "replacement", "control"),
    }
    for name, markers in expected.items():
        bad = [c for c in (CORRUPTIONS[name](d, i, "de") for i, d in enumerate(docs)) if c is not None]
        counts = Counter(reasons(quality_filter, bad, "de"))
        top_reason = counts.most_common(1)[0][0]
        assert top_reason and any(m in top_reason for m in markers), (name, counts)
