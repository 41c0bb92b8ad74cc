"""The compiled MinHash kernel (native/minhash_kernel, built by make setup): its XXH3 is python-xxhash's for
every length class, and its signatures equal the Python path's bit for bit on real documents of every target
language, for several shingle sizes and the edge cases of word splitting."""

import random

import numpy as np
import pytest
import xxhash

from common.languages import TARGET_LANGUAGES
from operators.dedup.minhash import COMPILED_KERNEL, MinHashConfig, signatures
from pipelines.tools.reference_documents import documents
from tests.fixtures.shared_data import shared_path

EDGE_CASES = [
    "",                                   # no words: no signature
    "... !!! ---",                        # punctuation only: no words either
    "one",                                # one word
    "two words",                          # fewer words than a shingle
    "word " * 5000,                       # one shingle repeated thousands of times
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 astral 𝔴𝔬𝔯𝔡𝔰 in a sentence of words",   # characters outside the BMP
    "3 000 000 dollars, 1,5 % and 3.14 in a row",    # numbers ICU may keep whole
    "x" * 500 + " " + "y" * 300 + " and a few more short words",   # shingles longer than 240 bytes (XXH3's long path)
]


def test_the_kernel_is_built_against_the_installed_xxhash():
    assert COMPILED_KERNEL is not None, "native/minhash_kernel is not installed: run make setup"
    assert COMPILED_KERNEL.XXHASH_VERSION == xxhash.VERSION


def test_its_xxh3_is_python_xxhash_for_every_length_class():
    rng = random.Random(20261207)
    for length in list(range(0, 260)) + [511, 512, 1023, 1024, 1025, 4096, 10_000]:
        for _ in range(3):
            data = bytes(rng.getrandbits(8) for _ in range(length))
            assert COMPILED_KERNEL.xxh3_64(data) == xxhash.xxh3_64_intdigest(data), length


@pytest.fixture(scope="module")
def reference_documents():
    data = str(shared_path("ntrex128").parent)
    texts, langs = [], []
    for lang in TARGET_LANGUAGES:
        for corpus in ("ntrex", "leipzig"):
            found = documents(corpus, data, lang)[:20]
            texts.extend(found)
            langs.extend([lang] * len(found))
    return texts, langs


@pytest.mark.parametrize("ngram", [1, 2, 5, 9])
def test_compiled_signatures_equal_the_python_path(reference_documents, ngram):
    texts, langs = reference_documents
    texts, langs = texts + EDGE_CASES, langs + ["en"] * len(EDGE_CASES)
    config = MinHashConfig(ngram=ngram)
    expected, expected_present = signatures(texts, langs, config, compiled=False)
    found, present = signatures(texts, langs, config)
    assert present.tolist() == expected_present.tolist()
    assert not present[len(texts) - len(EDGE_CASES)] and not present[len(texts) - len(EDGE_CASES) + 1]
    mismatched = [i for i in range(len(texts)) if not np.array_equal(found[i], expected[i])]
    assert not mismatched, [(langs[i], texts[i][:60]) for i in mismatched[:5]]


def test_a_word_holding_a_space_takes_the_python_path(monkeypatch):
    """Were a segmenter to return a word with a space in it, its document's shingles could not be byte spans
    between spaces: that document is signed in Python, the rest of the batch in C, and nothing changes."""
    import operators.dedup.minhash as minhash

    real = minhash.words
    monkeypatch.setattr(minhash, "words", lambda text, lang: (["new york"] + real(text, lang)) if "York" in text
                        else real(text, lang))
    texts = ["She flew to York and then home again", "A plain sentence with enough words in it"]
    config = MinHashConfig()
    expected, _ = signatures(texts, ["en", "en"], config, compiled=False)
    found, present = signatures(texts, ["en", "en"], config)
    assert present.all() and np.array_equal(found, expected)


def test_the_kernel_refuses_arrays_that_do_not_match():
    a = np.ones(4, dtype=np.uint64)
    out = np.zeros((2, 4), dtype=np.uint32)
    with pytest.raises(ValueError, match="sizes do not match"):
        COMPILED_KERNEL.signatures(b"a b", np.array([0, 3], dtype=np.int64), 5, a, a, out, np.zeros(2, dtype=np.int64))
    with pytest.raises(ValueError, match="offsets must rise"):
        COMPILED_KERNEL.signatures(b"a b", np.array([0, 9], dtype=np.int64), 5, a, a, out[:1], np.zeros(1, dtype=np.int64))
