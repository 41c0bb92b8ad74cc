"""Heuristic pair filters on real NTREX-128 pairs against planted negatives, per direction.

Positives: aligned NTREX-128 sentences (news, professional translation; the filters' constants come
from FLORES-200 dev, not from this data). Negatives, each from other sentences of the same corpus:
the target truncated to its first third, the target in a third language, the source copied as the
target, and (where both sides share a number of two or more digits) that number changed in the
target. "keep" is the positive class: precision = positives among kept pairs, recall = positives kept.
Misaligned pairs (the target of another sentence) are what the similarity filter is for; the share the
heuristics catch is printed, not asserted.
"""

import re
from collections import Counter

import pyarrow as pa
import pytest

from common.config_check import build
from common.languages import FLORES_CODES
from operators.parallel.pair_filters import PairFilter, PairFilterConfig, numbers
from tests.fixtures.shared_data import shared_path

DIRECTIONS = [("en", "de"), ("en", "zh"), ("en", "ja"), ("en", "th"), ("en", "ar"), ("en", "ru"), ("en", "ko"),
              ("en", "hu"), ("en", "ne"), ("zh", "ja"), ("de", "fr"), ("th", "vi"), ("ar", "he"), ("es", "pt"),
              ("ja", "ko"), ("ru", "uk")]
THIRD = {"el": "ko"}  # the third language is Greek, or Korean for a pair that has Greek
POSITIVES = 400
MIN_PRECISION = 0.9
MIN_RECALL = 0.9


@pytest.fixture(scope="module")
def ntrex():
    folder = shared_path("ntrex128")
    langs = {lang for pair in DIRECTIONS for lang in pair} | {"el", "ko"}
    return {lang: [line.rstrip("\n") for line in open(folder / f"{FLORES_CODES[lang]}.txt", encoding="utf-8")]
            for lang in langs}


@pytest.fixture(scope="module")
def pair_filter():
    f = PairFilter(build(PairFilterConfig, {}))
    f.setup()
    return f


def truncated(text):
    return text[: max(1, len(text) // 3)]


def change_number(source, target):
    shared = sorted(numbers(source) & numbers(target), key=len, reverse=True)
    if not shared:
        return None
    number = shared[0]
    pattern = re.compile(r"(?<!\d)" + r"[.,\u00a0\u202f\u2009 ]?".join(number) + r"(?!\d)")
    match = pattern.search(target)
    if match is None:
        return None
    last = match.group()[-1]
    changed = match.group()[:-1] + str((int(last) + 3) % 10)
    return target[: match.start()] + changed + target[match.end():]


def run(pair_filter, src, tgt, sources, targets):
    table = pa.table({"src_text": sources, "tgt_text": targets, "src_lang": [src] * len(sources),
                      "tgt_lang": [tgt] * len(sources)})
    return pair_filter.reasons(table)


def test_heuristics_keep_real_pairs_and_drop_planted_negatives(ntrex, pair_filter):
    totals = Counter()
    failures = []
    print(f"\n{'pair':<7}{'recall':>7}{'precision':>10}{'trunc.':>7}{'3rd lang':>9}{'copied':>7}{'numbers':>9}"
          f"{'misaligned':>11}  kept-positive drops")
    for src, tgt in DIRECTIONS:
        third = THIRD.get(tgt, "el") if "el" not in (src, tgt) else "ko"
        s, t, x = ntrex[src], ntrex[tgt], ntrex[third]
        pos = run(pair_filter, src, tgt, s[:POSITIVES], t[:POSITIVES])
        neg_range = range(POSITIVES, 2 * POSITIVES)
        negatives = {
            "trunc.": ([s[i] for i in neg_range], [truncated(t[i]) for i in neg_range]),
            "3rd lang": ([s[i] for i in neg_range], [x[i] for i in neg_range]),
            "copied": ([s[i] for i in neg_range], [s[i] for i in neg_range]),
        }
        changed = [(s[i], change_number(s[i], t[i])) for i in range(POSITIVES, len(s))]
        changed = [(a, b) for a, b in changed if b is not None][:POSITIVES]
        negatives["numbers"] = ([a for a, _ in changed], [b for _, b in changed])
        caught = {name: run(pair_filter, src, tgt, *texts) for name, texts in negatives.items()}
        misaligned = run(pair_filter, src, tgt, [s[i] for i in neg_range], [t[i + 1] for i in neg_range])
        kept_pos = sum(r is None for r in pos)
        kept_neg = sum(r is None for rs in caught.values() for r in rs)
        recall = kept_pos / len(pos)
        precision = kept_pos / (kept_pos + kept_neg)
        share = {name: sum(r is not None for r in rs) / len(rs) for name, rs in caught.items()}
        misaligned_caught = sum(r is not None for r in misaligned) / len(misaligned)
        totals.update({"pos": len(pos), "kept_pos": kept_pos, "kept_neg": kept_neg, "mis": len(misaligned),
                       "mis_caught": sum(r is not None for r in misaligned)})
        reasons = Counter(r for r in pos if r)
        print(f"{src}-{tgt:<4}{recall:>7.3f}{precision:>10.3f}" + "".join(f"{share[n]:>{w}.2f}" for n, w in
              (("trunc.", 7), ("3rd lang", 9), ("copied", 7), ("numbers", 9)))
              + f"{misaligned_caught:>11.2f}  {dict(reasons.most_common(3))}  ({len(changed)} number pairs)")
        if recall < MIN_RECALL or precision < MIN_PRECISION:
            failures.append(f"{src}-{tgt}: recall {recall:.3f}, precision {precision:.3f}")
    recall = totals["kept_pos"] / totals["pos"]
    precision = totals["kept_pos"] / (totals["kept_pos"] + totals["kept_neg"])
    print(f"all    {recall:>7.3f}{precision:>10.3f}   misaligned caught: {totals['mis_caught'] / totals['mis']:.2f}")
    assert not failures, failures


def test_number_rule_allows_reformatting_and_spelled_digits():
    assert numbers("In 2019 it cost 1,250,000 dollars (7 times more).") == {"2019", "1250000"}
    assert numbers("2019年には125万ドル") == {"2019", "125"}
    assert numbers("٢٠١٩") == {"2019"}  # Arabic-Indic digits


@pytest.mark.parametrize("src, tgt, reason", [
    ("", "Hallo", "pair:empty"),
    ("Hello, world!", "hello world", "pair:identical"),
    ("Visit the new museum today.", "Besuchen Sie Visit the new museum today. heute", "pair:source_copied"),
    ("See <b>this</b> page.", "Siehe diese Seite.", "pair:url_html"),
    ("Go to https://example.com now.", "Geh jetzt dorthin.", "pair:url_html"),
    ("A fairly long sentence that goes on and on about the weather.", "Ja.", "pair:length_ratio"),
    ("The bridge opened in 1932 after 12 years.", "Die Brücke wurde 1933 nach 12 Jahren eröffnet.", "pair:numbers_differ"),
    ("the the the the the the cat", "die Katze", "pair:length_ratio"),
])
def test_each_rule_names_its_reason(pair_filter, src, tgt, reason):
    assert run(pair_filter, "en", "de", [src], [tgt]) == [reason]
