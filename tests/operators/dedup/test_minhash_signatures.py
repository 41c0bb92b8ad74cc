"""MinHash signatures: equal to datasketch's bit for bit, shingles per language, LSH parameters."""

import numpy as np
import pytest
from datasketch import MinHash

import operators.dedup.minhash as minhash
from common.config_check import ConfigError, build
from common.languages import TARGET_LANGUAGES
from operators.dedup.minhash import (
    MinHashConfig,
    band_keys,
    candidate_probability,
    lsh_parameters,
    permutation_parameters,
    shingle_hash,
    shingles,
    signatures,
)
from pipelines.tools.reference_documents import documents
from tests.fixtures.shared_data import shared_path


@pytest.fixture(scope="module")
def ntrex_docs():
    data = str(shared_path("ntrex128").parent)
    return {lang: documents("ntrex", data, lang)[:6] for lang in TARGET_LANGUAGES}


def datasketch_signature(texts_shingles, config):
    a, b = permutation_parameters(config.permutations, config.seed)
    sketch = MinHash(num_perm=config.permutations, hashfunc=shingle_hash, permutations=(a, b), scheme="legacy")
    sketch.update_batch(texts_shingles)
    return sketch.hashvalues


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "python"])
def test_signatures_equal_datasketch_bit_for_bit_in_every_language(ntrex_docs, compiled):
    config = build(MinHashConfig, {})
    for lang, docs in ntrex_docs.items():
        docs = docs + [docs[0].split("\n")[0][:12]]  # a document shorter than five words
        sigs, present = signatures(docs, [lang] * len(docs), config, compiled=compiled)
        assert present.all() and sigs.dtype == np.uint32 and sigs.shape == (len(docs), 112)
        for doc, sig in zip(docs, sigs):
            expected = datasketch_signature(shingles(doc, lang), config)
            assert np.array_equal(expected.astype(np.uint64), sig.astype(np.uint64)), lang


def test_datasketch_draws_the_same_permutations_from_the_same_seed():
    a, b = permutation_parameters(112, 7)
    sketch = MinHash(num_perm=112, seed=7, scheme="legacy")
    assert np.array_equal(sketch.permutations[0], a) and np.array_equal(sketch.permutations[1], b)


def test_documents_larger_than_a_block_and_batches_give_the_same_signatures(ntrex_docs, monkeypatch):
    docs = ntrex_docs["de"] + ntrex_docs["ja"]
    langs = ["de"] * 6 + ["ja"] * 6
    config = build(MinHashConfig, {})
    expected, _ = signatures(docs, langs, config, compiled=False)
    monkeypatch.setattr(minhash, "_BLOCK_ELEMENTS", 112 * 37)  # blocks of 37 shingles: documents span blocks
    small_blocks, _ = signatures(docs, langs, config, compiled=False)
    one_by_one = np.stack([signatures([d], [l], config, compiled=False)[0][0] for d, l in zip(docs, langs)])
    assert np.array_equal(expected, small_blocks) and np.array_equal(expected, one_by_one)


def test_documents_without_words_have_no_signature():
    sigs, present = signatures(["", "... !!! ---", "Ein Satz mit Wörtern."], ["de"] * 3, MinHashConfig())
    assert present.tolist() == [False, False, True]


def test_shingles_of_unspaced_scripts_are_word_ngrams(ntrex_docs):
    for lang in ("zh", "ja", "th"):
        doc = ntrex_docs[lang][0]
        grams = shingles(doc, lang)
        lines = [line for line in doc.split("\n") if line.strip()]
        # Dictionary words, not one "word" per line or per space-separated run.
        assert len(grams) > 5 * len(lines)
        assert all(len(g.split(" ")) == 5 for g in grams)


def test_shingles_ignore_case_punctuation_digits_and_latin_accents():
    assert shingles("Él dijo: «Hola, 2024 años» ¡y más!", "es") == shingles("el dijo hola 0000 anos y mas", "es")


def test_near_duplicates_share_band_keys_and_unrelated_documents_do_not(ntrex_docs):
    config = MinHashConfig()
    base = ntrex_docs["en"][1]
    edited = base.replace(" the ", " a ", 1)
    sigs, _ = signatures([base, edited, ntrex_docs["en"][2]], ["en"] * 3, config)
    keys = band_keys(sigs, config.bands, config.rows)
    assert (keys[0] == keys[1]).any()
    assert not (keys[0] == keys[2]).any()


def test_lsh_parameters_and_threshold_config():
    assert lsh_parameters(0.7, 256) == (25, 10)  # data-juicer's default, as datasketch computes it
    config = build(MinHashConfig, {"threshold": 0.8, "num_perm": 128})
    assert config.bands * config.rows <= 128 and 0.7 < config.approximate_threshold < 0.9
    default = MinHashConfig()
    assert abs(default.approximate_threshold - 0.72) < 0.01
    assert candidate_probability(0.8, 14, 8) > 0.92 and candidate_probability(0.5, 14, 8) < 0.06
    with pytest.raises(ConfigError, match="minhash.threshold"):
        build(MinHashConfig, {"threshold": 1.5}, prefix="minhash")
    with pytest.raises(ConfigError, match="num_perm"):
        build(MinHashConfig, {"num_perm": 100})
