"""The shared word segmenter: scripts with and without spaces, offsets, punctuation."""

from common.words import word_spans, words


def test_spaced_scripts_split_on_spaces_and_punctuation_only():
    assert words("Hello, world! I don't know; 3.14 is pi.", "en") == ["Hello", "world", "I", "don't", "know", "3.14", "is", "pi"]
    assert words("Привет, мир! Как дела?", "ru") == ["Привет", "мир", "Как", "дела"]
    assert words("Γειά σου κόσμε; Καλά.", "el") == ["Γειά", "σου", "κόσμε", "Καλά"]
    # Right-to-left scripts come out in logical order.
    assert words("مرحبا بالعالم؟", "ar") == ["مرحبا", "بالعالم"]
    assert words("שלום עולם.", "he") == ["שלום", "עולם"]
    # Devanagari vowel signs stay inside their word (a \w regex would cut there).
    assert words("नमस्ते दुनिया।", "ne") == ["नमस्ते", "दुनिया"]


def test_scripts_without_spaces_are_segmented_with_dictionaries():
    assert words("我爱北京天安门。", "zh") == ["我", "爱", "北京", "天安门"]
    assert words("ภาษาไทยไม่มีช่องว่าง", "th") == ["ภาษา", "ไทย", "ไม่มี", "ช่อง", "ว่าง"]
    ja = words("東京都に住んでいます。", "ja")
    assert "".join(ja) == "東京都に住んでいます" and len(ja) >= 4 and "東京" in ja


def test_offsets_are_python_indices_even_with_characters_outside_the_bmp():
    text = "a😀b emoji 𠀀字"
    spans = word_spans(text, "en")
    assert [text[s:e] for s, e in spans] == words(text, "en")
    assert words(text, "en")[:3] == ["a", "b", "emoji"]


def test_empty_and_symbol_only_text_has_no_words():
    assert words("", "en") == []
    assert words(" ... --- !!! ", "zh") == []
