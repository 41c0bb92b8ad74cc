"""Unit tests of operators.web.lid_disambiguation (the shipped model file and the pair logic).

Most tests feed hand-written lid.176-style candidate lists, so they need neither lid.176 nor the
shared data; the ones marked below use them and skip when they are missing.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from operators.web.langid import DEFAULT_DISAMBIGUATION
from operators.web.lid_disambiguation import LanguagePairDisambiguator, MarkerRulePair, NaiveBayesPair, ScriptRulePair
from tests.fixtures.shared_data import REPO_ROOT, SHARED_DATA

REPO = REPO_ROOT


def shared_data_dir() -> Path:
    return SHARED_DATA


@pytest.fixture(scope="module")
def model() -> LanguagePairDisambiguator:
    return LanguagePairDisambiguator.from_file(DEFAULT_DISAMBIGUATION)


def _lid176():
    fasttext = pytest.importorskip("fasttext")
    from operators.web.langid import packaged_lid176_path

    path = packaged_lid176_path()
    if not os.path.isfile(path):
        pytest.skip(f"lid.176.ftz not found at {path}")
    fasttext.FastText.eprint = lambda *args, **kwargs: None
    return fasttext.load_model(path)


def _candidates(lid, text):
    labels, probs = lid.predict(text, k=5)
    return [(label[len("__label__"):], float(p)) for label, p in zip(labels, probs)]


# ------------------------------------------------------------------------------- model file
def test_shipped_model_file_is_small_and_has_the_pairs(model):
    assert os.path.getsize(DEFAULT_DISAMBIGUATION) < 1_000_000
    labels = {tuple(p.labels) for p in model.pairs}
    assert {("ms", "id"), ("az", "tr"), ("ne", "hi"), ("zh", "ja")} <= labels
    card = Path(DEFAULT_DISAMBIGUATION).with_suffix(".md")
    assert card.is_file(), "model card missing next to the model"
    text = card.read_text(encoding="utf-8")
    assert "CC BY-SA 4.0" in text and "Leipzig" in text and "FLORES" in text


def test_round_trip_through_file(model, tmp_path):
    path = tmp_path / "pairs.json"
    model.save(str(path))
    again = LanguagePairDisambiguator.from_file(str(path))
    assert again.to_json() == model.to_json()
    probes = [
        ("Beliau berkata kerajaan akan memberikan wang kepada rakyat.", [("id", 0.6), ("ms", 0.35), ("en", 0.01)]),
        ("Dünən axşam konsert oldu.", [("tr", 0.7), ("az", 0.28), ("en", 0.01)]),
        ("उहाँले भन्नुभयो कि काम राम्रो भयो।", [("hi", 0.6), ("ne", 0.35), ("mr", 0.01)]),
        ("几百万人将会送命。", [("ja", 0.5), ("zh", 0.45), ("wuu", 0.02)]),
    ]
    for text, cands in probes:
        assert again.resolve(text, cands) == model.resolve(text, cands)


def test_rejects_foreign_json(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"format": "something-else", "version": 1, "pairs": []}))
    with pytest.raises(ValueError):
        LanguagePairDisambiguator.from_file(str(path))
    path.write_text(json.dumps({"format": "marco-lid-pair-disambiguation", "version": 1,
                                "pairs": [{"type": "magic", "labels": ["a", "b"]}]}))
    with pytest.raises(ValueError):
        LanguagePairDisambiguator.from_file(str(path))


# --------------------------------------------------------------------------- pass-through
def test_other_languages_are_untouched(model):
    cands = [("en", 0.91), ("de", 0.03), ("id", 0.02), ("ms", 0.01), ("nl", 0.01)]
    assert model.resolve("The committee approved the budget on Tuesday.", cands) == ("en", 0.91)
    # even Malay-looking text keeps lid.176's label when the top label is outside every pair
    cands = [("en", 0.5), ("ms", 0.3), ("id", 0.1), ("jv", 0.05), ("nl", 0.01)]
    assert model.resolve("Beliau berkata bahawa wang itu", cands) == ("en", 0.5)
    assert model.resolve("", []) == ("", 0.0)


# ------------------------------------------------------------------------------- ms / id
MALAY = ("Beliau berkata kerajaan telah memutuskan bahawa semua sekolah akan dibuka semula "
         "pada bulan hadapan kerana keadaan sudah bertambah baik.")
INDONESIAN = ("Dia mengatakan pemerintah telah memutuskan bahwa semua sekolah akan dibuka kembali "
              "bulan depan karena keadaan sudah membaik.")


def test_malay_labelled_indonesian_comes_back_malay_with_usable_score(model):
    cands = [("id", 0.55), ("ms", 0.40), ("jv", 0.02), ("en", 0.01), ("su", 0.01)]
    label, score = model.resolve(MALAY, cands)
    assert label == "ms"
    assert 0.65 <= score <= 0.95 + 1e-9  # never above the pair's lid.176 mass


def test_indonesian_stays_indonesian(model):
    cands = [("id", 0.80), ("ms", 0.15), ("jv", 0.02), ("en", 0.01), ("su", 0.01)]
    label, score = model.resolve(INDONESIAN, cands)
    assert label == "id"
    assert score >= 0.80  # keeping lid.176's label never lowers its score


def test_malay_top_can_become_indonesian(model):
    cands = [("ms", 0.50), ("id", 0.45), ("jv", 0.02), ("en", 0.01), ("su", 0.01)]
    assert model.resolve(INDONESIAN, cands)[0] == "id"


def test_ntrex_held_out_malay_labelled_id_comes_back_ms(model):
    """Real sentences: held-out NTREX documents (never trained on) that lid.176 labels id."""
    data = shared_data_dir()
    if not (data / "ntrex128" / "zsm_Latn.txt").is_file():
        pytest.skip(f"NTREX-128 not found under {data} (set MARCO_SHARED_DATA)")
    lid = _lid176()
    from pipelines.tools.train_lid_disambiguator import load_samples

    samples, _ = load_samples(str(data), ("ms", "id"))
    held = [s for s in samples if s.source == "ntrex" and s.held_out]
    fixed = total = kept_id = total_id = 0
    for s in held:
        cands = _candidates(lid, s.text)
        if cands[0][0] != "id":
            continue
        label, _ = model.resolve(s.text, cands)
        if s.lang == "ms":
            total += 1
            fixed += label == "ms"
        else:
            total_id += 1
            kept_id += label == "id"
    assert total >= 100 and total_id >= 100
    assert fixed / total >= 0.85, f"only {fixed}/{total} held-out Malay sentences fixed"
    assert kept_id / total_id >= 0.93, f"only {kept_id}/{total_id} held-out Indonesian sentences kept"
    # and the very first such Malay sentence, as a concrete example
    first = next(s for s in held if s.lang == "ms" and _candidates(lid, s.text)[0][0] == "id"
                 and model.resolve(s.text, _candidates(lid, s.text))[0] == "ms")
    assert first.text


# ------------------------------------------------------------------------------- az / tr
def test_azerbaijani_labelled_turkish_comes_back_az(model):
    text = "Dünən axşam Bakıda böyük bir konsert təşkil olundu və minlərlə insan iştirak etdi."
    label, score = model.resolve(text, [("tr", 0.6), ("az", 0.38), ("en", 0.01), ("uz", 0.005), ("de", 0.001)])
    assert label == "az" and score >= 0.9


def test_turkish_stays_turkish(model):
    text = "Dün akşam İstanbul'da büyük bir konser düzenlendi ve binlerce kişi katıldı."
    label, score = model.resolve(text, [("tr", 0.7), ("az", 0.28), ("en", 0.01), ("uz", 0.005), ("de", 0.001)])
    assert label == "tr" and score >= 0.7


# ------------------------------------------------------------------------------- ne / hi
NEPALI = "उहाँले भन्नुभयो कि काम राम्रो भयो।"


def test_nepali_labelled_hindi_comes_back_nepali(model):
    label, score = model.resolve(NEPALI, [("hi", 0.6), ("ne", 0.35), ("mr", 0.02), ("new", 0.01), ("sa", 0.01)])
    assert label == "ne"
    assert score == pytest.approx(0.95)  # the pair's lid.176 mass


@pytest.mark.parametrize("text", [
    "भारत सरकार ने आज नई शिक्षा नीति की घोषणा की है।",
    "मैं कल दिल्ली गया था और वहाँ बहुत बारिश हो रही थी।",
    "उन्होंने कहा कि काम अच्छा हुआ।",
    "बच्चे स्कूल में खेल रहे हैं।",
    "प्रधानमंत्री का दौरा आज",
    "मा दुर्गा की आरती",
    "जुन महीने की बारिश",
    # a Nepali marker word inside a real Hindi sentence: the Hindi function word wins
    "नेपाली में 'धेरै राम्रो' का अर्थ है बहुत अच्छा।",
])
def test_hindi_stays_hindi(model, text):
    cands = [("hi", 0.55), ("ne", 0.40), ("mr", 0.02), ("new", 0.01), ("sa", 0.01)]
    assert model.resolve(text, cands) == ("hi", 0.55)


def test_hindi_rule_needs_nepali_among_candidates(model):
    cands = [("hi", 0.7), ("mr", 0.2), ("sa", 0.05), ("new", 0.02), ("bh", 0.01)]
    assert model.resolve(NEPALI, cands) == ("hi", 0.7)


def test_nepali_top_is_not_touched(model):
    cands = [("ne", 0.5), ("hi", 0.45), ("mr", 0.02), ("new", 0.01), ("sa", 0.01)]
    assert model.resolve("भारत सरकार ने घोषणा की है।", cands) == ("ne", 0.5)


# ------------------------------------------------------------------------------- zh / ja
def test_kana_free_chinese_labelled_japanese_comes_back_chinese(model):
    label, score = model.resolve("几百万人将会送命。", [("ja", 0.5), ("zh", 0.45), ("wuu", 0.03), ("yue", 0.01), ("en", 0.0)])
    assert label == "zh" and score == pytest.approx(0.95)


def test_japanese_with_kana_stays_japanese(model):
    cands = [("ja", 0.6), ("zh", 0.35), ("wuu", 0.03), ("yue", 0.01), ("en", 0.0)]
    assert model.resolve("今日は天気がいいので公園に行きました。", cands) == ("ja", 0.6)


# ---------------------------------------------------------------------- hand-built pairs
def test_hand_built_model_logic():
    nb = NaiveBayesPair(labels=("aa", "bb"), word_weights={"alpha": 3.0, "beta": -3.0},
                        ngram_weights={}, ngram_min=1, ngram_max=0)
    rule = MarkerRulePair(labels=("ne", "hi"), markers=frozenset({"छन्"}), blockers=frozenset({"है"}),
                          min_markers=1)
    script = ScriptRulePair(labels=("zh", "ja"))
    model = LanguagePairDisambiguator([nb, rule, script])
    assert model.resolve("alpha alpha", [("bb", 0.6), ("aa", 0.3)]) == pytest.approx(
        ("aa", 0.9 / (1 + math.exp(-6.0))))
    assert model.resolve("beta", [("bb", 0.6), ("aa", 0.3)])[0] == "bb"
    assert model.resolve("उनीहरू छन्", [("hi", 0.6), ("ne", 0.3)]) == ("ne", pytest.approx(0.9))
    assert model.resolve("उनीहरू छन् है", [("hi", 0.6), ("ne", 0.3)]) == ("hi", 0.6)
    with pytest.raises(ValueError):
        LanguagePairDisambiguator([nb, NaiveBayesPair(labels=("bb", "cc"), word_weights={},
                                                      ngram_weights={}, ngram_min=1, ngram_max=0)])


# ------------------------------------------------------------------------------ rebuild
@pytest.mark.slow
def test_training_script_reproduces_shipped_model(tmp_path):
    """The shipped JSON is exactly what the training script builds from the shared data."""
    data = shared_data_dir()
    if not (data / "ntrex128").is_dir() or not (data / "mono_leipzig_lingua").is_dir():
        pytest.skip(f"NTREX-128 / Leipzig not found under {data} (set MARCO_SHARED_DATA)")
    _lid176()
    from pipelines.tools.train_lid_disambiguator import main

    out = tmp_path / "lid_disambiguation.json"
    assert main(["--data-dir", str(data), "--output", str(out)]) == 0
    assert out.read_bytes() == Path(DEFAULT_DISAMBIGUATION).read_bytes()
    assert (tmp_path / "lid_disambiguation.md").read_text(encoding="utf-8") == \
        Path(DEFAULT_DISAMBIGUATION).with_suffix(".md").read_text(encoding="utf-8")
