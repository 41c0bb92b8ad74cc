"""KenLM models trained on the real text of all 29 languages score held-out text as language.

The models come from ``pipelines/train_reference_lms.py`` (Leipzig + NTREX-128, 20 % held out;
SentencePiece subwords, order 6).
For every held-out sentence we compare its perplexity with the same sentence with its words shuffled
and with its characters garbled (non-space characters shuffled, spaces kept in place).
"""

import random

import pytest

from common.languages import TARGET_LANGUAGES
from common.words import words
from operators.web.perplexity import load_language_model
from tests.fixtures.perplexity import heldout_sentences

UNSPACED = {"zh", "ja", "th"}
MIN_WORD_SHUFFLE_WINS = 0.95
MIN_CHAR_GARBLE_WINS = 0.98


def shuffle_words(sentence: str, lang: str, rng: random.Random):
    tokens = words(sentence, lang)
    if len(tokens) < 4:
        return None
    shuffled = tokens[:]
    while shuffled == tokens:
        rng.shuffle(shuffled)
    return ("" if lang in UNSPACED else " ").join(shuffled)


def garble_characters(sentence: str, rng: random.Random):
    chars = [c for c in sentence if not c.isspace()]
    if len(set(chars)) < 2:
        return None
    rng.shuffle(chars)
    it = iter(chars)
    return "".join(c if c.isspace() else next(it) for c in sentence)


def test_heldout_text_beats_shuffled_words_and_garbled_characters(reference_lms):
    failures = []
    print(f"\n{'lang':<5}{'pairs':>6}{'< words shuffled':>18}{'< chars garbled':>17}")
    for lang in TARGET_LANGUAGES:
        model = load_language_model(reference_lms, lang)
        rng = random.Random(lang)
        word_wins = word_pairs = char_wins = char_pairs = 0
        for sentence in heldout_sentences(reference_lms, lang):
            clean = model.perplexity(sentence)
            shuffled = shuffle_words(sentence, lang, rng)
            if shuffled is not None:
                word_pairs += 1
                word_wins += clean < model.perplexity(shuffled)
            garbled = garble_characters(sentence, rng)
            if garbled is not None:
                char_pairs += 1
                char_wins += clean < model.perplexity(garbled)
        word_rate, char_rate = word_wins / word_pairs, char_wins / char_pairs
        print(f"{lang:<5}{char_pairs:>6}{word_rate:>18.3f}{char_rate:>17.3f}")
        if word_rate < MIN_WORD_SHUFFLE_WINS:
            failures.append(f"{lang}: clean < word-shuffled in {word_rate:.3f} of {word_pairs}")
        if char_rate < MIN_CHAR_GARBLE_WINS:
            failures.append(f"{lang}: clean < char-garbled in {char_rate:.3f} of {char_pairs}")
    assert not failures, "\n".join(failures)


def test_model_cards_describe_the_training(reference_lms):
    import json
    import os

    from pipelines.tools.train_reference_lms import CHARACTER_LANGUAGES

    for lang in TARGET_LANGUAGES:
        with open(os.path.join(reference_lms, f"{lang}.card.json"), encoding="utf-8") as handle:
            card = json.load(handle)
        unit = "chars" if lang in CHARACTER_LANGUAGES else "sentencepiece"
        assert card["unit"] == unit and card["order"] == 6 and card["training_tokens"] > 10_000
        assert os.path.isfile(os.path.join(reference_lms, f"{lang}.sp.model")) == (unit == "sentencepiece")
        assert 0 < card["vocabulary_size"] < card["training_tokens"]
        assert card["sources"] and all(len(s["sha1"]) == 40 for s in card["sources"])


@pytest.mark.parametrize("text", ["", "   \n\n", "... !!! ---"])
def test_text_without_words_has_no_perplexity(reference_lms, text):
    assert load_language_model(reference_lms, "en").perplexity(text) is None
