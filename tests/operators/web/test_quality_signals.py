"""Each quality signal on small documents whose values are computed by hand in the comments."""

import pytest

from operators.web.quality_signals import Blocklist, LanguageLists, compute_signals


def lists(stop=(), block=(), lang="en"):
    return LanguageLists(frozenset(stop), Blocklist.from_entries(list(block), lang))


def signals(text, lang="en", **kw):
    return compute_signals(text, lang, lists(lang=lang, **kw))


def test_words_length_stop_words_and_alpha_words_in_english():
    # Words: The cat sat on 3 mats (6); letters 3+3+3+2+1+4 = 16 -> mean 16/6.
    s = signals("The cat sat on 3 mats.", stop={"the", "on"})
    assert s["word_count"] == 6
    assert s["mean_word_length"] == pytest.approx(16 / 6)
    assert s["stop_word_ratio"] == pytest.approx(2 / 6)  # "The" lowercased matches
    assert s["alpha_word_ratio"] == pytest.approx(5 / 6)  # "3" has no letter
    # Non-space characters: 16 word characters + "." = 17; one digit, one punctuation mark.
    assert s["digit_ratio"] == pytest.approx(1 / 17)
    assert s["symbol_ratio"] == pytest.approx(1 / 17)


def test_chinese_and_japanese_have_words_without_spaces():
    # 我 / 爱 / 北京 / 天安门: 4 words of 1+1+2+3 = 7 characters; "。" is the only symbol of 8.
    s = signals("我爱北京天安门。", lang="zh", stop={"我"})
    assert s["word_count"] == 4
    assert s["mean_word_length"] == pytest.approx(7 / 4)
    assert s["stop_word_ratio"] == pytest.approx(1 / 4)
    assert s["symbol_ratio"] == pytest.approx(1 / 8)
    assert s["no_terminal_punct_ratio"] == 0.0  # 。 ends a sentence
    ja = signals("今日は晴れです！\n明日は雨", lang="ja")
    assert ja["no_terminal_punct_ratio"] == pytest.approx(1 / 2)  # ！ counts, the second line has none


def test_thai_segmentation_feeds_word_count():
    # ภาษา / ไทย / ไม่มี / ช่อง / ว่าง
    assert signals("ภาษาไทยไม่มีช่องว่าง", lang="th")["word_count"] == 5


def test_terminal_punctuation_is_script_aware():
    arabic = "هل تتكلم العربية؟\nنعم، قليلا.\nعنوان"
    assert signals(arabic, lang="ar")["no_terminal_punct_ratio"] == pytest.approx(1 / 3)
    greek = "Τι κάνεις;\nΚαλά είμαι.\nΤίτλος"
    assert signals(greek, lang="el")["no_terminal_punct_ratio"] == pytest.approx(1 / 3)
    hebrew = "מה שלומך?\nאני בסדר, תודה.\nכותרת"
    s = signals(hebrew, lang="he", stop={"אני", "מה"})
    assert s["no_terminal_punct_ratio"] == pytest.approx(1 / 3)
    # Words: מה שלומך אני בסדר תודה כותרת (6 words, 2+5+3+4+4+5 = 23 letters), two stop words;
    # "?" "," "." are 3 of 26 visible characters.
    assert s["word_count"] == 6 and s["stop_word_ratio"] == pytest.approx(2 / 6)
    assert s["symbol_ratio"] == pytest.approx(3 / 26)
    hindi_script = "यह एक वाक्य है।\nशीर्षक"
    assert signals(hindi_script, lang="ne")["no_terminal_punct_ratio"] == pytest.approx(1 / 2)
    # A closing quote or bracket after the mark still ends the line.
    assert signals('He said "yes."\n(See above.)', lang="en")["no_terminal_punct_ratio"] == 0.0


def test_short_lines_count_words_not_characters():
    # Line words: 1, 6, 5 -> lines with at most 5 words: 2 of 3.
    text = "Menu\nЭто длинная строка из шести слов.\nКороткая строка из пяти слов."
    assert signals(text, lang="ru")["short_line_ratio"] == pytest.approx(2 / 3)
    # Chinese: 我爱北京天安门 is 4 words (short); the second line has 7 words.
    zh = "我爱北京天安门\n今天北京的天气非常好。"
    s = signals(zh, lang="zh")
    assert s["short_line_ratio"] == pytest.approx(1 / 2)


def test_duplicate_lines_paragraphs_and_consecutive_repeats():
    text = "alpha beta\nalpha beta\ngamma\n\nalpha beta"
    s = signals(text)
    # Non-empty lines: [alpha beta, alpha beta, gamma, alpha beta]: 2 repeat an earlier one.
    assert s["dup_line_frac"] == pytest.approx(2 / 4)
    # Characters: 10 + 10 + 5 + 10 = 35, repeated 20.
    assert s["dup_line_char_frac"] == pytest.approx(20 / 35)
    assert s["consecutive_dup_line_ratio"] == pytest.approx(1 / 4)
    # Paragraphs: "alpha beta\nalpha beta\ngamma" and "alpha beta": no repeat.
    assert s["dup_para_frac"] == 0.0 and s["dup_para_char_frac"] == 0.0


def test_gopher_ngram_repetition():
    # Words: a b c a b c a b (8 words, 8 characters).
    s = signals("a b c a b c a b")
    # Most frequent 2-gram "a b" occurs 3 times, 2 characters each: 6/8.
    assert s["top_2gram_frac"] == pytest.approx(6 / 8)
    # 3-grams: abc, bca, cab, abc, bca, cab -> top count 2, 3 characters: 6/8.
    assert s["top_3gram_frac"] == pytest.approx(6 / 8)
    # 5-grams: abcab, bcabc, cabca, abcab (index 3 repeats index 0) -> words 3..7 covered: 5/8.
    assert s["dup_5gram_frac"] == pytest.approx(5 / 8)
    assert s["dup_6gram_frac"] == 0.0  # abcabc, bcabca, cabcab: all distinct
    # A text without repeats.
    clean = signals("one two three four five six seven eight nine ten eleven")
    assert clean["top_2gram_frac"] == 0.0 and clean["dup_5gram_frac"] == 0.0


def test_garbled_text_signals():
    # Non-space characters: c a f \ufffd a u l a i t = 10.
    assert signals("caf\ufffd au lait")["replacement_ratio"] == pytest.approx(1 / 10)
    assert signals("bell\x07 ring")["control_ratio"] == pytest.approx(1 / 9)
    # UTF-8 "café – naïve" read as cp1252: Ã©, â€“ and Ã¯ are three mojibake sequences.
    garbled = "café – naïve".encode("utf-8").decode("cp1252")
    s = signals(garbled)
    assert s["mojibake_per_kchar"] >= 1000 * 3 / len(garbled)
    assert signals("café – naïve")["mojibake_per_kchar"] == 0.0
    # A stray cp1252 apostrophe (U+0092) is repairable punctuation, not garbage.
    stray = signals("It\x92s fine")
    assert stray["control_ratio"] == 0.0 and stray["mojibake_per_kchar"] == 0.0


def test_blocklist_matches_whole_words_and_word_sequences():
    s = signals("You sold crap, total crap, and crapshoot is fine. Two girls one cup", block={"crap", "girls one cup"})
    # 13 words; hits: crap, crap, girls one cup -> 3; "crapshoot" does not match.
    assert s["word_count"] == 13
    assert s["blocklist_ratio"] == pytest.approx(3 / 13)
    # Single-character Chinese entries must not match inside words: 性 inside 可能性 / 性别.
    zh = signals("可能性很大。", lang="zh", block={"性"})
    assert zh["blocklist_ratio"] == 0.0


def test_empty_document_has_all_signals_and_no_division_by_zero():
    s = signals("")
    assert s["word_count"] == 0 and s["stop_word_ratio"] == 0.0 and s["dup_5gram_frac"] == 0.0
