"""Table 13's eleven templates, rendered exactly; the per-pair choice is seeded and covers all of them."""

from collections import Counter

from common.languages import TARGET_LANGUAGES
from operators.parallel.translation_templates import LANGUAGE_NAMES, TEMPLATES, choose_template, render

SOURCE = "The cat sleeps."
TARGET = "Die Katze schläft."

# Paper Table 13 with <src_lang>=English, <tgt_lang>=German, "^" as a line break.
EXPECTED = {
    "A": "English phrase: The cat sleeps.\nGerman phrase: Die Katze schläft.",
    "B": "English text: The cat sleeps.\nGerman text: Die Katze schläft.",
    "C": "Translate the text from English to German:\nEnglish text: The cat sleeps.\nGerman text: Die Katze schläft.",
    "D": "Translate the words from English to German:\nEnglish words: The cat sleeps.\nGerman words: Die Katze schläft.",
    "E": "Convert the phrase from English to German:\nEnglish phrase: The cat sleeps.\nGerman phrase: Die Katze schläft.",
    "F": "Render the English sentence The cat sleeps. to German: Die Katze schläft.",
    "G": "Provide the translation of the sentence The cat sleeps. from English to German: Die Katze schläft.",
    "H": "Change the phrase The cat sleeps. to German, the translated phrase is: Die Katze schläft.",
    "I": "Please change the sentence The cat sleeps. to German, and the resulting translation is: Die Katze schläft.",
    "J": "Change the phrase The cat sleeps. to German, resulting in: Die Katze schläft.",
    "K": "The sentence The cat sleeps. in English means Die Katze schläft. in German",
}


def test_all_eleven_templates_render_as_table_13():
    assert sorted(TEMPLATES) == list("ABCDEFGHIJK")
    for template_id, expected in EXPECTED.items():
        assert render(template_id, "en", "de", SOURCE, TARGET) == expected, template_id


def test_placeholders_inside_the_texts_stay_literal():
    assert render("A", "en", "de", "a <output> b", "<src_lang>") == "English phrase: a <output> b\nGerman phrase: <src_lang>"


def test_every_target_language_has_an_english_name():
    assert set(LANGUAGE_NAMES) == set(TARGET_LANGUAGES)


def test_choice_is_seeded_by_content_and_uses_every_template():
    pairs = [(f"sentence {i}", f"Satz {i}") for i in range(2000)]
    chosen = [choose_template(7, "en", "de", s, t) for s, t in pairs]
    assert chosen == [choose_template(7, "en", "de", s, t) for s, t in pairs]
    assert chosen != [choose_template(8, "en", "de", s, t) for s, t in pairs]
    counts = Counter(chosen)
    assert set(counts) == set(TEMPLATES) and min(counts.values()) > 2000 / 11 * 0.7
