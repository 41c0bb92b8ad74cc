"""Exact-substring dedup: planted repeats of 50 and 49 Qwen2 tokens in real text (NTREX-128), the
suffix-array marking against brute force, and the pipeline stage byte for byte."""

import json
import random

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from common.tokenizer import load_tokenizer
from operators.dedup.exact_substrings import character_ranges, duplicated_token_mask, remove_ranges, token_runs
from pipelines.global_dedup.dedup import DedupConfig, dedup
from pipelines.global_dedup.substring_dedup import REMOVED_COLUMN
from pipelines.tools.reference_documents import documents
from tests.fixtures.curated_output import shard_paths
from tests.fixtures.shared_data import shared_path

LANGS = ("en", "zh", "ja", "th", "ru", "ar")
MIN_TOKENS = 50


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("qwen2")


@pytest.fixture(scope="module")
def news():
    data = str(shared_path("ntrex128").parent)
    return {lang: documents("ntrex", data, lang) for lang in LANGS}


def encode(tokenizer, text):
    encoding = tokenizer.encode(text, add_special_tokens=False)
    return np.array(encoding.ids, dtype=np.int32), np.array(encoding.offsets, dtype=np.int32).reshape(-1, 2)


def plant(tokenizer, source, target, length, seed):
    """Copy ``length`` tokens of ``source`` to a new last line of ``target``, at a place where the copy
    tokenizes exactly as in the source and the repeat cannot extend on either side.

    Returns (target with the copy, char range of the span in source)."""
    ids, offsets = encode(tokenizer, source)
    rng = random.Random(seed)
    for _ in range(500):
        start = rng.randrange(1, len(ids) - length - 1)
        first, last = int(offsets[start, 0]), int(offsets[start + length - 1, 1])
        planted = target + "\n" + source[first:last]
        planted_ids, _ = encode(tokenizer, planted)
        before = encode(tokenizer, target + "\n")[0]
        if (len(planted_ids) == len(before) + length and np.array_equal(planted_ids[-length:], ids[start:start + length])
                and planted_ids[-length - 1] != ids[start - 1]):
            return planted, (first, last)
    raise AssertionError("no clean place to plant the span")


def test_fifty_token_repeats_are_cut_from_every_copy_and_forty_nine_are_kept(tokenizer, news):
    for lang in LANGS:
        a, b, c = news[lang][0], news[lang][1], news[lang][2]
        b_planted, (first, last) = plant(tokenizer, a, b, MIN_TOKENS, seed=lang)
        c_planted, _ = plant(tokenizer, a.replace(a[first:last], ""), c, MIN_TOKENS - 1, seed=lang + "49")
        texts = [a, b_planted, c_planted]
        encoded = [encode(tokenizer, t) for t in texts]
        masks = duplicated_token_mask([ids for ids, _ in encoded], MIN_TOKENS, tokenizer.get_vocab_size())
        out = [remove_ranges(t, character_ranges(token_runs(m), offsets))
               for t, m, (_, offsets) in zip(texts, masks, encoded)]
        assert out[0] == a[:first] + a[last:], lang  # every occurrence goes, the first one included
        assert out[1] == b + "\n", lang
        assert out[2] == c_planted, lang  # a 49-token repeat is untouched
        assert [int(m.sum()) for m in masks] == [MIN_TOKENS, MIN_TOKENS, 0], lang


def test_a_repeat_inside_one_document_is_found(tokenizer, news):
    doc = news["en"][3]
    planted, (first, last) = plant(tokenizer, doc, doc, 60, seed="self")
    ids, offsets = encode(tokenizer, planted)
    mask = duplicated_token_mask([ids], MIN_TOKENS, tokenizer.get_vocab_size())[0]
    assert remove_ranges(planted, character_ranges(token_runs(mask), offsets)) == doc[:first] + doc[last:] + "\n"


def brute_force_mask(documents, k):
    """Tokens covered by a k-gram that occurs at least twice (anywhere, within or across documents)."""
    counts = {}
    for doc in documents:
        for i in range(len(doc) - k + 1):
            key = tuple(doc[i:i + k])
            counts[key] = counts.get(key, 0) + 1
    masks = []
    for doc in documents:
        mask = np.zeros(len(doc), dtype=bool)
        for i in range(len(doc) - k + 1):
            if counts[tuple(doc[i:i + k])] > 1:
                mask[i:i + k] = True
        masks.append(mask)
    return masks


@pytest.mark.parametrize("seed", range(6))
def test_marking_equals_brute_force_on_random_token_streams(seed):
    rng = np.random.default_rng(seed)
    # A small alphabet and copied pieces make repeats of every length, overlapping ones included.
    docs = [rng.integers(0, 4, size=rng.integers(0, 60)).astype(np.int32) for _ in range(12)]
    docs.append(np.concatenate([docs[0][5:40], docs[1], docs[0][10:30]]) if len(docs[0]) > 40 else docs[1])
    for k in (3, 5, 8):
        got = duplicated_token_mask(docs, k, separator_base=10)
        want = brute_force_mask([d.tolist() for d in docs], k)
        assert all(np.array_equal(g, w) for g, w in zip(got, want)), k


def test_shared_characters_of_split_multibyte_tokens_are_kept():
    offsets = np.array([[0, 1], [1, 2], [1, 3], [3, 4]], dtype=np.int32)  # tokens 1 and 2 share char 1
    assert character_ranges([(2, 4)], offsets) == [(2, 4)]
    assert character_ranges([(0, 2)], offsets) == [(0, 1)]
    assert character_ranges([(0, 4)], offsets) == [(0, 4)]


def test_substring_stage_output_matches_expected_text_byte_for_byte(tokenizer, news, tmp_path):
    inputs, expected, span_only, cut = tmp_path / "in", {}, {}, {}
    for lang in LANGS:
        a, b, c = news[lang][4], news[lang][5], news[lang][6]
        b_planted, (first, last) = plant(tokenizer, a, b, 80, seed=lang)
        short = a[first:last]  # a document that is nothing but the repeated span: dropped when cut
        rows = [(f"{lang}-a", a), (f"{lang}-b", b_planted), (f"{lang}-c", c), (f"{lang}-short", short)]
        expected.update({f"{lang}-a": a[:first] + a[last:], f"{lang}-b": b + "\n", f"{lang}-c": c})
        span_only[lang] = len(short)
        cut.update({f"{lang}-a": last - first, f"{lang}-b": last - first, f"{lang}-c": 0})
        (inputs / lang).mkdir(parents=True)
        for number, part in enumerate((rows[:2], rows[2:])):  # the copies sit in two files
            pq.write_table(pa.table({"id": [r[0] for r in part], "text": [r[1] for r in part],
                                     "lang": [lang] * len(part)}), inputs / lang / f"part-{number}.parquet")
    stats = dedup(DedupConfig(), str(inputs), str(tmp_path / "out"), stage="substring", in_process=True)
    rows = [r for p in shard_paths(tmp_path / "out") for r in pq.read_table(p).to_pylist()]
    assert {r["id"]: r["text"] for r in rows} == expected
    assert {r["id"]: r[REMOVED_COLUMN] for r in rows} == cut
    substring = stats.operator("substring")
    assert substring.dropped == {"dup:substring_short": len(LANGS)}
    # The sample of dropped documents shows each one's text before the cut and how much the cut took.
    dropped = pq.read_table(tmp_path / "out" / "_drops" / "drops.parquet").to_pylist()
    assert {(r["operator"], r["reason"], r["lang"], r["id"]) for r in dropped} == {
        ("substring", "dup:substring_short", lang, f"{lang}-short") for lang in LANGS}
    for r in dropped:
        assert json.loads(r["signals"])[REMOVED_COLUMN] == span_only[r["lang"]]
        assert len(r["text"]) == min(span_only[r["lang"]], 2000)
    assert substring.noted == {"substring:trimmed": 2 * len(LANGS)}
    details = stats.details["substring"]
    removed = {lang: 0 for lang in LANGS}
    for r in rows:
        removed[r["lang"]] += r[REMOVED_COLUMN]
    # Characters cut: from the kept documents, plus the whole text of the dropped span-only one.
    assert details["removed_characters_by_language"] == {lang: removed[lang] + span_only[lang] for lang in LANGS}
    assert details["first_occurrence_kept"] is False
